//! `status`, `logs`, `pause`, `resume` and `abort`: act on the sessions the journal
//! knows. They never take the migration lock, so they work beside a running `apply`.

use crate::domain::SessionState;
use crate::journal::{SessionRecord, SourceRecord};
use crate::migration::{Migration, MigrationError};
use crate::modules::names;
use crate::report::log_lines::{item_line, master_line};
use crate::report::status::{LiveState, SourceStatus};
use crate::translog::{Event, MasterLogParser, parse_item_log};
use crate::whm::WhmError;
use std::collections::BTreeMap;
use std::time::Duration;

/// The session actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `pause_transfer_session`.
    Pause,
    /// `start_transfer_session` on a paused session.
    Resume,
    /// `abort_transfer_session`.
    Abort,
}

impl Action {
    /// The verb, as a command names it.
    pub fn verb(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Abort => "abort",
        }
    }

    /// What was done, for a message.
    pub fn done(self) -> &'static str {
        match self {
            Self::Pause => "asked to pause",
            Self::Resume => "resumed",
            Self::Abort => "aborted",
        }
    }
}

/// A line of `logs` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLine<'a> {
    /// A log line (data, for stdout).
    Data(&'a str),
    /// A message about the logs (no session, a log that could not be fetched).
    Note(&'a str),
}

/// What an action did to one source's session.
#[derive(Debug)]
pub enum Controlled {
    /// No session recorded: nothing to act on.
    NoSession,
    /// Done; the session's state read after it (`None` when that read failed).
    Done {
        /// The session id.
        session: String,
        /// Its state now.
        state: Option<SessionState>,
    },
    /// The destination refused or could not be asked.
    Failed(MigrationError),
}

impl Controlled {
    /// What was done, in a line (`Failed` says only that it failed: its error is the
    /// caller's to show).
    pub fn describe(&self, source: &str, action: Action) -> String {
        match self {
            Self::NoSession => format!(
                "{source}: no session recorded; nothing to {}",
                action.verb()
            ),
            Self::Done { session, state } => format!(
                "{source}: {} session {session} (now {})",
                action.done(),
                state.as_ref().map_or("?", SessionState::name)
            ),
            Self::Failed(_) => format!("{source}: failed to {}", action.verb()),
        }
    }
}

impl Migration {
    /// The selected sources (all when `None`) with their current (or last) session.
    fn sessions(
        &self,
        only: Option<&str>,
    ) -> Result<Vec<(String, Option<SessionRecord>)>, MigrationError> {
        let names = self.select_sources(only)?;
        Ok(self.journal.read(|j| {
            names
                .into_iter()
                .map(|name| {
                    let record = j.sources.get(&name);
                    let current = record
                        .and_then(|r| r.session.as_ref().or(r.previous_sessions.last()))
                        .cloned();
                    (name, current)
                })
                .collect()
        }))
    }

    /// Each selected source's session, its live state and the journal's item counts.
    pub async fn status(&self, only: Option<&str>) -> Result<Vec<SourceStatus>, MigrationError> {
        let mut rows = Vec::new();
        for (source, session) in self.sessions(only)? {
            let state = match &session {
                Some(s) => Some(
                    match self.client().get_transfer_session_state(&s.id).await {
                        Ok(state) => LiveState::Known(state),
                        Err(WhmError::Api { reason, .. }) => LiveState::UnknownToServer(reason),
                        Err(e) => return Err(e.into()),
                    },
                ),
                None => None,
            };
            let row = self
                .journal
                .read(|j| status_row(&source, session.as_ref(), state, j.sources.get(&source)));
            rows.push(row);
        }
        Ok(rows)
    }

    /// Pauses, resumes or aborts the selected sources' current sessions.
    pub async fn control(
        &self,
        action: Action,
        only: Option<&str>,
    ) -> Result<Vec<(String, Controlled)>, MigrationError> {
        let mut out = Vec::new();
        for (source, session) in self.sessions(only)? {
            let Some(session) = session else {
                out.push((source, Controlled::NoSession));
                continue;
            };
            let client = self.client();
            let result = match action {
                Action::Pause => client.pause_transfer_session(&session.id).await,
                Action::Resume => client.start_transfer_session(&session.id).await.map(drop),
                Action::Abort => client.abort_transfer_session(&session.id).await,
            };
            let done = match result {
                Ok(()) => Controlled::Done {
                    state: client.get_transfer_session_state(&session.id).await.ok(),
                    session: session.id,
                },
                Err(e) => Controlled::Failed(e.into()),
            };
            out.push((source, done));
        }
        Ok(out)
    }

    /// Prints (through `line`) the master log of each selected source's session, or
    /// one item's logs; with `follow`, until the session ends.
    pub async fn logs(
        &self,
        only: Option<&str>,
        item: Option<&str>,
        follow: bool,
        line: &mut dyn FnMut(LogLine<'_>),
    ) -> Result<(), MigrationError> {
        for (source, session) in self.sessions(only)? {
            let Some(session) = session else {
                line(LogLine::Note(&format!("{source}: no session recorded")));
                continue;
            };
            match item {
                Some(item) => self.item_logs(&source, &session.id, item, line).await,
                None => self.master_log(&source, &session.id, follow, line).await?,
            }
        }
        Ok(())
    }

    async fn item_logs(
        &self,
        source: &str,
        session: &str,
        item: &str,
        line: &mut dyn FnMut(LogLine<'_>),
    ) {
        let module = self
            .journal
            .read(|j| j.sources.get(source).and_then(|r| module_of(r, item)))
            .unwrap_or_else(|| names::ACCOUNT_ROOT.to_owned());
        for queue in ["TRANSFER", "RESTORE"] {
            let name = format!("item-{queue}_{module}_{item}");
            match self
                .client()
                .fetch_transfer_session_log(session, &name)
                .await
            {
                Ok(text) => {
                    line(LogLine::Data(&format!("== {source} {name}")));
                    for e in parse_item_log(text.as_bytes()) {
                        line(LogLine::Data(&item_line(&e)));
                    }
                }
                Err(e) => line(LogLine::Note(&format!("{source}: {name}: {e}"))),
            }
        }
    }

    async fn master_log(
        &self,
        source: &str,
        session: &str,
        follow: bool,
        line: &mut dyn FnMut(LogLine<'_>),
    ) -> Result<(), MigrationError> {
        let client = self.client();
        let mut parser = MasterLogParser::new();
        loop {
            let text = client
                .fetch_transfer_session_log(session, "master.log")
                .await?;
            let events = parser.feed_whole(text.as_bytes()).unwrap_or_default();
            for e in &events {
                let text = master_line(e);
                if !text.is_empty() {
                    line(LogLine::Data(&format!("{source}: {text}")));
                }
            }
            if !follow || events.iter().any(Event::is_session_end) {
                return Ok(());
            }
            let state = client.get_transfer_session_state(session).await?;
            if state.is_terminal() && events.is_empty() && state != SessionState::Completed {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// The module of the journal's item `key` of a source (its account module).
fn module_of(record: &SourceRecord, key: &str) -> Option<String> {
    record
        .items
        .keys()
        .filter_map(|k| k.split_once('/'))
        .find(|(_, k)| *k == key)
        .map(|(m, _)| m.to_owned())
}

fn status_row(
    source: &str,
    session: Option<&SessionRecord>,
    state: Option<LiveState>,
    record: Option<&SourceRecord>,
) -> SourceStatus {
    let mut items = BTreeMap::new();
    if let (Some(r), Some(s)) = (record, session) {
        for item in r.items.values().filter(|i| i.session == s.id) {
            *items.entry(item.state.name()).or_default() += 1;
        }
    }
    let mut waves = BTreeMap::<String, BTreeMap<&'static str, usize>>::new();
    for item in record.iter().flat_map(|r| r.items.values()) {
        if let Some(wave) = &item.wave {
            *waves
                .entry(wave.clone())
                .or_default()
                .entry(item.state.name())
                .or_default() += 1;
        }
    }
    let time_left_secs = crate::report::status::time_left(
        state.as_ref(),
        session.and_then(|s| s.expected_end.as_deref()),
        chrono::Utc::now(),
    );
    SourceStatus {
        source: source.to_owned(),
        session: session.map(|s| s.id.clone()),
        created_at: session.map(|s| s.created_at.clone()),
        state,
        items,
        waves,
        unrecorded_sessions_started_at: record
            .map(crate::journal::SourceRecord::unrecorded)
            .unwrap_or_default(),
        time_left_secs,
    }
}
