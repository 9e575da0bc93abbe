//! What a rehearsal tells: its opening (speed, faults), where the simulated copy
//! differs from the real servers, and the predicted makespan.

use crate::plan::{Action, Plan, render};
use crate::rehearse::Round;
use crate::rehearse::faults::FaultPlan;
use crate::rehearse::scale::Scale;
use crate::report::ApplyReport;
use crate::units::duration;
use std::time::Duration;

/// The rehearsal's opening lines: the plan, the speed and the faults.
pub fn opening(plan: &Plan, scale: &Scale, speed_from: &str, faults: Option<&FaultPlan>) -> String {
    let mut out = format!(
        "{}\nRehearsing on a simulated copy of the servers at {:.1} MB/s per transfer worker ({speed_from}; restores at {:.1} MB/s, {} per item step; 1 simulated second = {:.0} real seconds); nothing real is changed.",
        render::summary_line(plan),
        scale.speed_mb_s,
        scale.restore_mb_s,
        crate::units::duration(scale.step),
        scale.factor
    );
    match faults {
        None => out.push_str("\nFaults: none (add --faults SEED to inject them)."),
        Some(f) => {
            put!(
                out,
                "\nFaults from seed {}: {}% of requests answered HTTP 500, {}% of answers lost after the server acted",
                f.seed,
                f.faults.http_500 * 100.0,
                f.faults.drop_after * 100.0
            );
            if let Some((event, after)) = f.event {
                put!(out, "; {} after {after} restore(s)", event.describe());
            }
            out.push('.');
            for (user, what) in f.per_item() {
                put!(out, "\n  injected: {user}: {what}");
            }
        }
    }
    out
}

/// The real plan and the simulated world's plan should agree item by item; where they
/// do not, the rehearsal is less faithful, so say so.
pub fn differences(real: &Plan, simulated: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for (r, s) in real.sources.iter().zip(&simulated.sources) {
        for (ri, si) in r.items.iter().zip(&s.items) {
            let moving = |a: &Action| matches!(a, Action::Transfer | Action::AlreadyQueued);
            if ri.key == si.key && moving(&ri.action) != moving(&si.action) {
                out.push(format!(
                    "rehearsal: {} {} is “{}” on the real servers but “{}” in the simulated copy; the rehearsal may differ from apply there",
                    r.name,
                    ri.key,
                    ri.action.name(),
                    si.action.name()
                ));
            }
        }
    }
    out
}

/// The report's times, in real-world time at the rehearsal's speed.
pub fn predicted_times(report: &mut ApplyReport, round: &Round, scale: &Scale) {
    report.elapsed = round
        .simulated_overall
        .map_or(Duration::ZERO, |d| scale.real(d));
    for (source, simulated) in report.sources.iter_mut().zip(&round.simulated) {
        source.elapsed = simulated.map(|d| scale.real(d));
    }
}

pub fn makespan(
    plan: &Plan,
    rounds: &[(Round, ApplyReport)],
    scale: &Scale,
    seed: Option<u64>,
) -> String {
    let mut out = format!(
        "Predicted makespan at {} MB/s (the sessions' run time; whm-migrate's own queueing and following add seconds):",
        scale.speed_mb_s
    );
    for (i, source) in plan.sources.iter().enumerate() {
        let total: Option<Duration> = rounds
            .iter()
            .filter_map(|(r, _)| r.simulated.get(i).copied().flatten())
            .map(|d| scale.real(d))
            .reduce(|a, b| a + b);
        put!(
            out,
            "\n  {}: {}",
            source.name,
            total.map_or_else(|| "nothing to move".to_owned(), duration)
        );
    }
    let overall: Duration = rounds
        .iter()
        .filter_map(|(r, _)| r.simulated_overall)
        .map(|d| scale.real(d))
        .sum();
    put!(out, "\n  overall: {}", duration(overall));
    if rounds.len() > 1 {
        put!(
            out,
            " over {} runs of apply (the time between them is the operator's)",
            rounds.len()
        );
    }
    match seed {
        Some(seed) => {
            put!(
                out,
                "\nFault seed: {seed} (`--faults {seed}` replays the same per-item outcome)"
            );
        }
        None => out.push_str("\nFault seed: none"),
    }
    out.push('\n');
    out
}
