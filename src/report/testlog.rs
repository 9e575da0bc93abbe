//! Test support: a small realistic session replayed poll by poll, a fixed clock and a
//! shared buffer sink.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeZone as _, Utc};

use super::progress::Clock;
use crate::translog::{
    Excerpt, ItemKey, MasterLogParser, SessionProgress, failure_excerpt, parse_item_log,
};

/// The master log of a root session on `old1`, as the new lines of successive polls:
/// `package1` restores cleanly, `bob` (restored as `bob2`) with warnings, dangerous and
/// altered items, `alice` fails in RESTORE. `carol` is planned but never mentioned.
pub(super) const POLLS: [&str; 5] = [
    concat!(
        r#"{"type":"control","pid":900,"indent":0,"partial":0,"contents":{"action":"start","child_number":0,"time":1795741323}}"#,
        "\n",
        r#"{"type":"control","pid":900,"contents":{"action":"initiator","child_number":0,"msg":"copyacct"}}"#,
        "\n",
        r#"{"type":"control","pid":900,"contents":{"action":"version","child_number":0,"msg":2.3}}"#,
        "\n",
        r#"{"type":"control","pid":900,"contents":{"action":"queue_count","queue":"TRANSFER","child_number":0,"msg":3}}"#,
        "\n",
        r#"{"type":"control","pid":900,"contents":{"action":"queue_size","queue":"TRANSFER","child_number":0,"msg":3145728}}"#,
        "\n",
        r#"{"type":"control","pid":900,"contents":{"action":"remotehost","child_number":0,"msg":"old1.example.com"}}"#,
        "\n",
        r#"{"type":"control","pid":901,"contents":{"action":"start-item","child_number":1,"queue":"TRANSFER","item":"package1","item_type":"PackageRemoteRoot","item_name":"Package","logfile":"item-TRANSFER_PackageRemoteRoot_package1","msg":{"size":0}}}"#,
        "\n",
        r#"{"type":"control","pid":901,"contents":{"action":"success-item","child_number":1,"queue":"TRANSFER","item":"package1","item_type":"PackageRemoteRoot","msg":{"size":0,"warnings":0,"skipped_items":0,"dangerous_items":0,"altered_items":0}}}"#,
        "\n",
        r#"{"type":"control","pid":902,"contents":{"action":"start-item","child_number":2,"queue":"TRANSFER","item":"bob","local_item":"bob2","item_type":"AccountRemoteRoot","item_name":"Account","logfile":"item-TRANSFER_AccountRemoteRoot_bob","msg":{"size":1048576}}}"#,
        "\n",
    ),
    concat!(
        r#"{"type":"control","pid":903,"contents":{"action":"start-item","child_number":1,"queue":"RESTORE","item":"package1","item_type":"PackageRemoteRoot","msg":{"size":0}}}"#,
        "\n",
        r#"{"type":"control","pid":903,"contents":{"action":"success-item","child_number":1,"queue":"RESTORE","item":"package1","item_type":"PackageRemoteRoot","msg":{"size":0,"warnings":0,"skipped_items":0,"dangerous_items":0,"altered_items":0,"message":null}}}"#,
        "\n",
        r#"{"type":"control","pid":902,"contents":{"action":"success-item","child_number":2,"queue":"TRANSFER","item":"bob","local_item":"bob2","item_type":"AccountRemoteRoot","msg":{"size":1048576,"warnings":0}}}"#,
        "\n",
        r#"{"type":"control","pid":901,"contents":{"action":"start-item","child_number":1,"queue":"TRANSFER","item":"alice","item_type":"AccountRemoteRoot","item_name":"Account","logfile":"item-TRANSFER_AccountRemoteRoot_alice","msg":{"size":2097152}}}"#,
        "\n",
    ),
    // A poll that brings nothing new.
    "",
    concat!(
        r#"{"type":"control","pid":903,"contents":{"action":"start-item","child_number":1,"queue":"RESTORE","item":"bob","local_item":"bob2","item_type":"AccountRemoteRoot","msg":{"size":1048576}}}"#,
        "\n",
        r#"{"type":"control","pid":901,"contents":{"action":"success-item","child_number":1,"queue":"TRANSFER","item":"alice","item_type":"AccountRemoteRoot","msg":{"size":2097152}}}"#,
        "\n",
        r#"{"type":"control","pid":903,"contents":{"action":"warning-item","child_number":1,"queue":"RESTORE","item":"bob","local_item":"bob2","item_type":"AccountRemoteRoot","msg":{"size":1048576,"warnings":["The domain “bob.example” has no A record.","Mail quota <unlimited> & \"default\" kept."],"skipped_items":0,"dangerous_items":[[["Mysql","_restore",104],"Grants for “bob_wp” allow access from any host.",null]],"altered_items":[[["Mysql","_rename",437],"Database “bob_wp” restored as “bob2_wp”.",["Rename","bob_wp",{"new":"bob2_wp"}]]],"message":null}}}"#,
        "\n",
        r#"{"type":"control","pid":904,"contents":{"action":"start-item","child_number":2,"queue":"RESTORE","item":"alice","item_type":"AccountRemoteRoot","logfile":"item-RESTORE_AccountRemoteRoot_alice","msg":{"size":2097152}}}"#,
        "\n",
    ),
    concat!(
        r#"{"type":"control","pid":904,"contents":{"action":"failed-item","child_number":2,"queue":"RESTORE","item":"alice","item_type":"AccountRemoteRoot","msg":{"size":2097152,"failure":"Disk quota exceeded while extracting the home directory of “alice”.\nat Whostmgr/Transfers/Restore.pm line 301."}}}"#,
        "\n",
        r#"{"type":"control","pid":903,"contents":{"action":"complete","queue":"RESTORE","child_number":1}}"#,
        "\n",
        r#"{"type":"control","pid":900,"contents":{"action":"complete","child_number":0}}"#,
        "\n",
    ),
];

/// `alice`'s RESTORE item log.
pub(super) const ALICE_RESTORE_LOG: &str = concat!(
    r#"{"type":"start","contents":{"msg":["Starting “RESTORE” for “Account” “alice”."],"time":1795741330}}"#,
    "\n",
    r#"{"type":"out","contents":{"msg":["Restoring the home directory…"]}}"#,
    "\n",
    r#"{"type":"warn","contents":{"msg":["The quota for “alice” is 1 GB."]}}"#,
    "\n",
    r#"{"type":"error","contents":{"msg":["tar: home/alice/mail: Cannot write: Disk quota exceeded"]}}"#,
    "\n",
    r#"{"type":"failed","contents":{"msg":["Failed: Disk quota exceeded while extracting the home directory of “alice”."]}}"#,
    "\n",
);

/// The planned items, in plan order.
pub(super) fn planned() -> Vec<ItemKey> {
    vec![
        ItemKey::new("PackageRemoteRoot", "package1"),
        ItemKey::new("AccountRemoteRoot", "bob"),
        ItemKey::new("AccountRemoteRoot", "alice"),
        ItemKey::new("AccountRemoteRoot", "carol"),
    ]
}

/// The fold after each poll, as the executor would see it.
pub(super) fn replay() -> Vec<SessionProgress> {
    let mut parser = MasterLogParser::new();
    let mut progress = SessionProgress::new();
    for key in planned() {
        progress.expect(key);
    }
    let mut whole = Vec::new();
    POLLS
        .iter()
        .map(|poll| {
            whole.extend_from_slice(poll.as_bytes());
            let events = parser
                .feed_whole(&whole)
                .unwrap_or_else(|e| panic!("log replaced: {e:?}"));
            progress.apply_all(&events);
            progress.clone()
        })
        .collect()
}

/// `alice`'s failure excerpt.
pub(super) fn alice_excerpt() -> Excerpt {
    failure_excerpt(&parse_item_log(ALICE_RESTORE_LOG.as_bytes()), 8)
}

/// 2026-11-27T01:02:03Z.
pub(super) fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 1, 2, 3)
        .single()
        .unwrap_or_else(|| unreachable!("a valid date"))
}

/// A clock that starts at [`start_time`] and advances a second per reading.
pub(super) fn ticking_clock() -> Clock {
    let mut now = start_time();
    Box::new(move || {
        let t = now;
        now += chrono::Duration::seconds(1);
        t
    })
}

/// A sink whose bytes the test can read afterwards.
#[derive(Clone, Default)]
pub(super) struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    /// What was written, as text.
    pub(super) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
