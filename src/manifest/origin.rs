//! Where a loaded manifest came from: its file, folder and the span of every key, so rules
//! that run on the model can still point at `file:line:col`.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use super::diagnostic::{Diagnostic, SourceFile};

/// The spans of one key: the key itself and its value (for a table, its header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    /// The key's span.
    pub key: Range<usize>,
    /// The value's span.
    pub value: Range<usize>,
}

/// Spans by path: `destination.url`, `sources[0].accounts[2].localuser`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpanIndex {
    map: HashMap<String, Loc>,
}

impl SpanIndex {
    /// Records a path.
    pub fn insert(&mut self, path: String, loc: Loc) {
        self.map.insert(path, loc);
    }

    /// The spans of exactly this path.
    pub fn get(&self, path: &str) -> Option<&Loc> {
        self.map.get(path)
    }

    /// The spans of `path`, or of its closest recorded ancestor (a missing key points at its
    /// table).
    pub fn nearest(&self, mut path: &str) -> Option<&Loc> {
        loop {
            if let Some(loc) = self.map.get(path) {
                return Some(loc);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

/// The hidden origin of a loaded manifest. Compares equal to any other origin.
#[derive(Clone, Default)]
pub struct Origin {
    pub(crate) file: Option<Arc<SourceFile>>,
    pub(crate) spans: Arc<SpanIndex>,
    pub(crate) base_dir: PathBuf,
    pub(crate) warnings: Vec<Diagnostic>,
    /// Whether the model's paths are already joined onto `base_dir`.
    pub(crate) resolved: bool,
}

impl Origin {
    /// The span of a value (or of the nearest ancestor), for a rule about a value.
    pub fn value_span(&self, path: &str) -> Option<Range<usize>> {
        self.spans.nearest(path).map(|l| l.value.clone())
    }

    /// The span of a key (or of the nearest ancestor), for a rule about a key.
    pub fn key_span(&self, path: &str) -> Option<Range<usize>> {
        self.spans.nearest(path).map(|l| l.key.clone())
    }

    /// Whether the manifest wrote this exact path.
    pub fn has(&self, path: &str) -> bool {
        self.spans.get(path).is_some()
    }
}

impl PartialEq for Origin {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "Origin({:?})", file.name),
            None => f.write_str("Origin(none)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Loc, SpanIndex};

    #[test]
    fn nearest_falls_back_to_ancestors() {
        let mut index = SpanIndex::default();
        index.insert(
            "sources[0]".into(),
            Loc {
                key: 1..2,
                value: 3..4,
            },
        );
        assert_eq!(
            index.nearest("sources[0].accounts[3].user").unwrap().value,
            3..4
        );
        assert!(index.nearest("destination.url").is_none());
    }
}
