//! `status`, `logs`, `pause`, `resume` and `abort`: act on the sessions the journal
//! knows, by manifest. They never take the migration lock, so they work beside a
//! running `apply`.

use crate::cli::args::{ControlArgs, GlobalArgs, LogsArgs, StatusArgs, StatusFormat};
use crate::cli::commands::load_manifest;
use crate::cli::printer::Printer;
use crate::cli::settings::{self, Destination};
use crate::cli::{EXIT_ERROR, EXIT_OK};
use crate::domain::SessionState;
use crate::journal::{Journal, SessionRecord, StateDir, unrecorded_warning};
use crate::manifest::Manifest;
use crate::translog::{MasterLogParser, parse_item_log};
use crate::whm::WhmError;
use miette::miette;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// What the control commands share: the manifest, the journal and the destination.
struct Opened {
    manifest: Manifest,
    journal: Journal,
    destination: Destination,
}

async fn open(
    printer: &Printer,
    global: &GlobalArgs,
    path: &Path,
) -> miette::Result<Option<Opened>> {
    let Some(mut manifest) = load_manifest(printer, path) else {
        return Ok(None);
    };
    // Source passwords are not needed here; only the destination token is.
    let _ = manifest.resolve_secrets();
    let state = StateDir::new(
        settings::state_dir(global.state_dir.as_deref(), path),
        &manifest.name,
    );
    let journal = state.load()?;
    let destination = settings::destination(&manifest, state.dir())
        .await
        .map_err(|e| miette!("{e}"))?;
    for w in destination.client.warnings() {
        printer.warn(w);
    }
    Ok(Some(Opened {
        manifest,
        journal,
        destination,
    }))
}

/// The sources selected by `--source` (all when absent), with their current session.
fn sessions<'j>(
    opened: &'j Opened,
    only: Option<&str>,
) -> miette::Result<Vec<(String, Option<&'j SessionRecord>)>> {
    if let Some(name) = only
        && !opened.manifest.sources.iter().any(|s| s.name == name)
    {
        return Err(miette!(
            help = "the manifest's sources are listed under [[sources]] with their `name`",
            "the manifest has no source named “{name}”"
        ));
    }
    Ok(opened
        .manifest
        .sources
        .iter()
        .filter(|s| only.is_none_or(|n| n == s.name))
        .map(|s| {
            let record = opened.journal.sources.get(&s.name);
            let current = record.and_then(|r| r.session.as_ref().or(r.previous_sessions.last()));
            (s.name.clone(), current)
        })
        .collect())
}

/// `status`: each source's session, its live state, and the journal's item counts.
pub async fn status(
    printer: &Printer,
    global: &GlobalArgs,
    args: &StatusArgs,
) -> miette::Result<i32> {
    let Some(opened) = open(printer, global, &args.manifest).await? else {
        return Ok(EXIT_ERROR);
    };
    let mut rows = Vec::new();
    for (source, session) in sessions(&opened, args.source.as_deref())? {
        let live = match session {
            Some(s) => Some(
                match opened
                    .destination
                    .client
                    .get_transfer_session_state(&s.id)
                    .await
                {
                    Ok(state) => state.name().to_owned(),
                    Err(WhmError::Api { reason, .. }) => {
                        format!("unknown to the server ({reason})")
                    }
                    Err(e) => return Err(e.into()),
                },
            ),
            None => None,
        };
        let record = opened.journal.sources.get(&source);
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        if let (Some(r), Some(s)) = (record, session) {
            for item in r.items.values().filter(|i| i.session == s.id) {
                *counts.entry(item.state.clone()).or_default() += 1;
            }
        }
        // Waves span sessions: count every item the journal knows, by its last state.
        let mut waves =
            std::collections::BTreeMap::<&str, std::collections::BTreeMap<&str, usize>>::new();
        for item in record.iter().flat_map(|r| r.items.values()) {
            if let Some(wave) = &item.wave {
                *waves
                    .entry(wave)
                    .or_default()
                    .entry(&item.state)
                    .or_default() += 1;
            }
        }
        let unrecorded: Vec<&str> = record.map(|r| r.unrecorded()).unwrap_or_default();
        rows.push(serde_json::json!({
            "source": source,
            "session": session.map(|s| &s.id),
            "created_at": session.map(|s| &s.created_at),
            "state": live,
            "items": counts,
            "waves": waves,
            "unrecorded_sessions_started_at": unrecorded,
        }));
    }
    opened.destination.close().await;
    match args.format {
        StatusFormat::Json => printer.data(&format!(
            "{}\n",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        )),
        StatusFormat::Text => {
            let mut out = String::new();
            for row in &rows {
                let source = row["source"].as_str().unwrap_or_default();
                match row["session"].as_str() {
                    Some(id) => {
                        let items: Vec<String> = row["items"]
                            .as_object()
                            .map(|m| m.iter().map(|(k, v)| format!("{v} {k}")).collect())
                            .unwrap_or_default();
                        let _ = writeln!(
                            out,
                            "{source}: session {id} {} (created {}){}",
                            row["state"].as_str().unwrap_or("?"),
                            row["created_at"].as_str().unwrap_or("?"),
                            if items.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", items.join(", "))
                            }
                        );
                    }
                    None => {
                        let _ = writeln!(out, "{source}: no session recorded");
                    }
                }
                for (wave, states) in row["waves"].as_object().into_iter().flatten() {
                    let states: Vec<String> = states
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| format!("{v} {k}"))
                        .collect();
                    let _ = writeln!(out, "  wave {wave}: {}", states.join(", "));
                }
                for at in row["unrecorded_sessions_started_at"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str())
                {
                    let _ = writeln!(out, "  warning: {}", unrecorded_warning(source, at));
                }
            }
            printer.data(&out);
        }
    }
    Ok(EXIT_OK)
}

/// `pause`, `resume` or `abort` on the selected sources' current sessions.
pub async fn control(
    printer: &Printer,
    global: &GlobalArgs,
    args: &ControlArgs,
    action: Action,
) -> miette::Result<i32> {
    let Some(opened) = open(printer, global, &args.manifest).await? else {
        return Ok(EXIT_ERROR);
    };
    let mut code = EXIT_OK;
    let targets = sessions(&opened, args.source.as_deref())?;
    let client = &opened.destination.client;
    for (source, session) in targets {
        let Some(session) = session else {
            printer.info(&format!(
                "{source}: no session recorded; nothing to {}",
                action.verb()
            ));
            continue;
        };
        let result = match action {
            Action::Pause => client.pause_transfer_session(&session.id).await,
            Action::Resume => client.start_transfer_session(&session.id).await.map(drop),
            Action::Abort => client.abort_transfer_session(&session.id).await,
        };
        match result {
            Ok(()) => {
                let state = client
                    .get_transfer_session_state(&session.id)
                    .await
                    .map_or_else(|_| "?".to_owned(), |s| s.name().to_owned());
                printer.data(&format!(
                    "{source}: {} session {} (now {state})\n",
                    action.done(),
                    session.id
                ));
            }
            Err(e) => {
                code = EXIT_ERROR;
                printer.error(&format!("{:?}", miette::Report::new(e)));
            }
        }
    }
    opened.destination.close().await;
    Ok(code)
}

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
    fn verb(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Abort => "abort",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Self::Pause => "asked to pause",
            Self::Resume => "resumed",
            Self::Abort => "aborted",
        }
    }
}

/// `logs`: the master log (or one item's logs) of each selected source's session.
pub async fn logs(printer: &Printer, global: &GlobalArgs, args: &LogsArgs) -> miette::Result<i32> {
    let Some(opened) = open(printer, global, &args.manifest).await? else {
        return Ok(EXIT_ERROR);
    };
    let client = &opened.destination.client;
    for (source, session) in sessions(&opened, args.source.as_deref())? {
        let Some(session) = session else {
            printer.info(&format!("{source}: no session recorded"));
            continue;
        };
        if let Some(item) = &args.item {
            for queue in ["TRANSFER", "RESTORE"] {
                let module = opened
                    .journal
                    .sources
                    .get(&source)
                    .and_then(|r| {
                        r.items
                            .keys()
                            .filter_map(|k| k.split_once('/'))
                            .find(|(_, key)| key == item)
                            .map(|(m, _)| m.to_owned())
                    })
                    .unwrap_or_else(|| "AccountRemoteRoot".to_owned());
                let name = format!("item-{queue}_{module}_{item}");
                match client.fetch_transfer_session_log(&session.id, &name).await {
                    Ok(text) => {
                        printer.data(&format!("== {source} {name}\n"));
                        for e in parse_item_log(text.as_bytes()) {
                            printer.data(&format!("{}\n", describe_item_event(&e)));
                        }
                    }
                    Err(e) => printer.info(&format!("{source}: {name}: {e}")),
                }
            }
            continue;
        }
        let mut parser = MasterLogParser::new();
        loop {
            let text = client
                .fetch_transfer_session_log(&session.id, "master.log")
                .await?;
            let events = parser.feed_whole(text.as_bytes()).unwrap_or_default();
            let ended = events.iter().any(crate::translog::Event::is_session_end);
            for e in &events {
                let line = describe_event(e);
                if !line.is_empty() {
                    printer.data(&format!("{source}: {line}\n"));
                }
            }
            if !args.follow || ended {
                break;
            }
            let state = client.get_transfer_session_state(&session.id).await?;
            if state.is_terminal() && events.is_empty() && state != SessionState::Completed {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    opened.destination.close().await;
    Ok(EXIT_OK)
}

fn describe_event(e: &crate::translog::Event) -> String {
    use crate::translog::EventKind as K;
    let time = e
        .time
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ ").to_string())
        .unwrap_or_default();
    let item = |i: &crate::translog::ItemRef| {
        format!(
            "{} {} {}",
            i.queue.as_ref().map_or("", |q| q.as_str()),
            i.item_type.as_deref().unwrap_or(""),
            i.item
        )
    };
    let text = match &e.kind {
        K::SessionStarted => "session started".to_owned(),
        K::SessionResumed => "session resumed".to_owned(),
        K::ItemStarted { item: i, size } => format!(
            "{}: started{}",
            item(i),
            size.map(|s| format!(" ({s} bytes)")).unwrap_or_default()
        ),
        K::ItemSucceeded { item: i, .. } => format!("{}: done", item(i)),
        K::ItemWarned { item: i, report } => format!(
            "{}: done with warnings: {}",
            item(i),
            report.warnings.join("; ")
        ),
        K::ItemFailed {
            item: i, failure, ..
        } => format!(
            "{}: FAILED: {}",
            item(i),
            failure.as_deref().unwrap_or("(no text)")
        ),
        K::ChildFailed { text, .. } => format!(
            "a worker died and was restarted ({})",
            text.as_deref().unwrap_or("?")
        ),
        K::Pausing => "pausing".to_owned(),
        K::Paused => "paused".to_owned(),
        K::Aborting => "aborting".to_owned(),
        K::SessionEnded(outcome) => format!("session ended: {outcome:?}"),
        K::Malformed { error } => format!("(unreadable log line: {error})"),
        _ => return String::new(),
    };
    format!("{time}{text}")
}

fn describe_item_event(e: &crate::translog::ItemLogEvent) -> String {
    use crate::translog::ItemLogKind as K;
    match &e.kind {
        K::Start(t) | K::Out(t) | K::Header(t) | K::Debug(t) => t.clone(),
        K::Warn(t) => format!("warning: {t}"),
        K::Error(t) => format!("error: {t}"),
        K::Success(t) => format!("success: {t}"),
        K::Failed(t) => format!("FAILED: {t}"),
        K::Percentage(p) => format!("{p}%"),
        K::Summary(r) => format!(
            "summary: {} warnings, {} skipped, {} dangerous, {} altered",
            r.counts.warnings,
            r.counts.skipped_items,
            r.counts.dangerous_items,
            r.counts.altered_items
        ),
        K::Other { kind, .. } => format!("({})", kind.as_deref().unwrap_or("record")),
        K::Malformed { error } => format!("(unreadable log line: {error})"),
    }
}
