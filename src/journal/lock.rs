//! The migration lock: an exclusive OS lock on a dedicated file that is never renamed
//! (an atomic rename of the journal would swap the inode under a lock held on it).
//!
//! The OS releases the lock when its holder dies, so a lock left by a killed process
//! is taken over safely; the holder's pid and start time in the file are only for the
//! message shown to a second process.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LockError {
    /// Another process holds it.
    #[error("another whm-migrate is working on this migration ({holder}); lock file {}", path.display())]
    #[diagnostic(
        code(lock::held),
        help(
            "wait for it to finish, or follow it with `whm-migrate status`; if that process is gone the lock frees itself"
        )
    )]
    Held {
        /// The lock file.
        path: PathBuf,
        /// Who holds it, as recorded in the file.
        holder: String,
    },
    /// The lock file is a symbolic link.
    #[error("the lock file {} is a symbolic link", path.display())]
    #[diagnostic(
        code(lock::symlink),
        help("remove it (whm-migrate creates the lock file itself) and check who made it")
    )]
    Symlink {
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {}: {source}", path.display())]
    #[diagnostic(code(lock::io))]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// A held lock; released on drop (and by the OS if the process dies).
#[derive(Debug)]
pub struct MigrationLock {
    file: File,
    path: PathBuf,
}

impl MigrationLock {
    /// Takes the lock at `path` without waiting, recording `command` as the holder.
    pub fn acquire(path: &Path, command: &str) -> Result<Self, LockError> {
        let io = |source| LockError::Io {
            path: path.to_owned(),
            source,
        };
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Never through a symbolic link: it could point the lock's writes at any file.
            options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        let mut file = options.open(path).map_err(|e| {
            if path.is_symlink() {
                LockError::Symlink {
                    path: path.to_owned(),
                }
            } else {
                io(e)
            }
        })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // Only for the message: an unreadable note says "holder unknown".
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Held {
                    path: path.to_owned(),
                    holder: if holder.is_empty() {
                        "holder unknown".to_owned()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let note = format!(
            "pid {}, {command}, started {}\n",
            std::process::id(),
            crate::journal::now()
        );
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(note.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Self {
            file,
            path: path.to_owned(),
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for MigrationLock {
    fn drop(&mut self) {
        // The OS releases the lock with the file anyway; the note is only informative.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::{LockError, MigrationLock};

    #[cfg(unix)]
    #[test]
    fn a_lock_file_that_is_a_symlink_is_refused_and_its_target_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("precious");
        std::fs::write(&target, b"keep me").unwrap();
        let path = tmp.path().join("m.lock");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        match MigrationLock::acquire(&path, "apply") {
            Err(LockError::Symlink { .. }) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    }

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("m.lock");
        let first = MigrationLock::acquire(&path, "apply").unwrap();
        match MigrationLock::acquire(&path, "apply") {
            Err(LockError::Held { holder, .. }) => {
                assert!(
                    holder.contains(&format!("pid {}", std::process::id())),
                    "{holder}"
                );
                assert!(holder.contains("apply"));
            }
            other => panic!("{other:?}"),
        }
        drop(first);
        // Released: a new holder gets it, even though the file stays.
        let again = MigrationLock::acquire(&path, "plan").unwrap();
        assert!(again.path().exists());
    }
}
