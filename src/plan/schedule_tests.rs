//! Unit tests of the schedule and the estimate with plain values.

use super::*;
use crate::domain::{RemoteAnalysis, SessionState, SourceAccount};
use crate::plan::diff;
use crate::plan::input::{DesiredSource, ObservedSession, ObservedSource, SessionKind};
use crate::plan::test_items::{account, package};

/// 1 byte per microsecond per worker, no fixed cost: a step of `n` bytes takes `n` µs.
fn unit(restore: Option<u64>) -> Throughput {
    Throughput {
        transfer_bytes_per_second: 1_000_000,
        restore_bytes_per_second: restore,
        step_overhead_ms: 0,
        from: ThroughputSource::Given,
    }
}

fn job(type_id: u64, key: &str, size: u64, priority: i64, after: Option<&str>) -> Job {
    Job {
        type_id,
        key: key.to_owned(),
        size,
        priority,
        prerequisite: after.map(str::to_owned),
    }
}

#[test]
fn equal_jobs_spread_over_the_transfer_pool() {
    let jobs: Vec<Job> = (0..4)
        .map(|i| job(3000, &format!("u{i}"), 10_000, 255, None))
        .collect();
    // Restores folded in: four 10 ms steps on two workers.
    assert_eq!(
        estimate_ms(&jobs, Pools::new(Some(2), Some(2)), &unit(None)),
        20
    );
    // One worker: all in a row.
    assert_eq!(estimate_ms(&jobs, Pools::default(), &unit(None)), 40);
}

#[test]
fn restores_overlap_transfers_and_add_the_last_tail() {
    // Two 10 ms transfers on one worker, restores of 5 ms each: the first restore runs
    // during the second transfer, the second after it.
    let jobs = [
        job(3000, "a", 10_000, 1, None),
        job(3000, "b", 10_000, 2, None),
    ];
    assert_eq!(
        estimate_ms(&jobs, Pools::default(), &unit(Some(2_000_000))),
        25
    );
}

#[test]
fn one_type_at_a_time_per_queue() {
    // The package (type 2000) runs alone first, even with a free worker.
    let jobs = [
        job(2000, "gold", 10_000, 255, None),
        job(3000, "a", 10_000, 255, None),
        job(3000, "b", 10_000, 255, None),
    ];
    assert_eq!(
        estimate_ms(&jobs, Pools::new(Some(2), Some(2)), &unit(None)),
        20
    );
}

#[test]
fn a_prerequisite_holds_its_dependant_back() {
    let free = [
        job(3000, "r", 10_000, 1, None),
        job(3000, "c", 10_000, 2, None),
    ];
    let chained = [
        job(3000, "r", 10_000, 1, None),
        job(3000, "c", 10_000, 2, Some("r")),
    ];
    let pools = Pools::new(Some(2), Some(2));
    assert_eq!(estimate_ms(&free, pools, &unit(None)), 10);
    assert_eq!(estimate_ms(&chained, pools, &unit(None)), 20);
    // A cycle written in a manifest never runs; the estimate still ends.
    let cycle = [
        job(3000, "x", 10, 1, Some("y")),
        job(3000, "y", 10, 2, Some("x")),
    ];
    assert_eq!(estimate_ms(&cycle, pools, &unit(None)), 0);
}

#[test]
fn pools_follow_whm_defaults_and_caps() {
    assert_eq!(
        Pools::new(None, Some(40)),
        Pools {
            transfer: 1,
            restore: 9
        }
    );
    assert_eq!(
        Pools::new(Some(0), Some(3)),
        Pools {
            transfer: 1,
            restore: 3
        }
    );
}

#[test]
fn largest_first_comes_close_to_the_bound_and_smallest_first_does_not() {
    // Sizes over three orders of magnitude, deterministic.
    let sizes: Vec<u64> = (0..200u64)
        .map(|i| 1_000 + (i * 7_919 % 200).pow(3) / 8)
        .collect();
    let pools = Pools::new(Some(4), Some(4));
    let tp = unit(Some(2_000_000));
    let with = |rank: &dyn Fn(u64) -> i64| -> u64 {
        let jobs: Vec<Job> = sizes
            .iter()
            .enumerate()
            .map(|(i, s)| job(3000, &format!("u{i:03}"), *s, rank(*s), None))
            .collect();
        estimate_ms(&jobs, pools, &tp)
    };
    let bound = lower_bound_ms(&sizes, pools, &tp);
    let largest = with(&|s| -i64::try_from(s).unwrap());
    let smallest = with(&|s| i64::try_from(s).unwrap());
    assert!(largest >= bound, "{largest} < {bound}");
    assert!(largest * 100 <= bound * 105, "{largest} vs bound {bound}");
    assert!(smallest > largest, "{smallest} vs {largest}");
}

fn src_account(user: &str, owner: &str, bytes: u64) -> SourceAccount {
    SourceAccount {
        user: user.into(),
        domain: format!("{user}.example"),
        owner: Some(owner.into()),
        bytesused: bytes,
        ..SourceAccount::default()
    }
}

/// Source `old1` observed with a new PENDING session and `analysis`.
fn observed_with(analysis: RemoteAnalysis) -> Observed {
    Observed {
        server_keys: None,
        destination: crate::plan::DestinationInventory::default(),
        sources: vec![ObservedSource {
            name: "old1".into(),
            session: Some(ObservedSession {
                id: "s1".into(),
                state: SessionState::Pending,
                created: true,
                unconfirmed: None,
            }),
            analysis: Some(analysis),
            queued: Default::default(),
        }],
    }
}

/// A reseller `res` (small) owning `big` and `tiny`, and two independent accounts; `pin`
/// has a priority in the manifest.
fn scheduled(pools: Pools) -> Plan {
    let desired = Desired {
        migration: "m".into(),
        sources: vec![DesiredSource {
            name: "old1".into(),
            host: "old1.example.com".into(),
            kind: SessionKind::Root,
            waive: vec![],
            items: vec![
                package("gold"),
                account("res", &[]),
                account("big", &[]),
                account("tiny", &[]),
                account("mid", &[]),
                account("pin", &[("priority", "7")]),
            ],
        }],
    };
    let mut analysis = RemoteAnalysis::default();
    analysis.remote.has_disk_used = true;
    analysis.items.accounts = vec![
        src_account("res", "root", 1_000),
        src_account("big", "res", 900_000),
        src_account("tiny", "res", 10),
        src_account("mid", "root", 500_000),
        src_account("pin", "root", 100),
    ];
    analysis.items.packages = vec![crate::domain::SourcePackage {
        name: "gold".into(),
        featurelist: None,
    }];
    let observed = observed_with(analysis);
    let mut plan = diff(&desired, &observed);
    schedule(
        &mut plan,
        &desired,
        &observed,
        &[pools],
        unit(Some(2_000_000)),
    );
    plan
}

fn item<'a>(plan: &'a Plan, key: &str) -> &'a crate::plan::ItemPlan {
    plan.sources[0].items.iter().find(|i| i.key == key).unwrap()
}

#[test]
fn resellers_lead_their_accounts_and_the_largest_go_first() {
    let plan = scheduled(Pools::new(Some(2), Some(2)));
    let prio = |k: &str| item(&plan, k).priority;
    // The reseller carries its largest account's chain: first; then big (waits on it),
    // mid, tiny. `pin` keeps the manifest's value.
    assert_eq!(prio("res"), Some(1));
    assert_eq!(prio("big"), Some(2));
    assert_eq!(prio("mid"), Some(3));
    assert_eq!(prio("tiny"), Some(4));
    assert_eq!(prio("pin"), Some(7));
    assert_eq!(item(&plan, "pin").priority_by, Some(SetBy::Manifest));
    assert_eq!(item(&plan, "big").priority_by, Some(SetBy::Schedule));
    assert_eq!(item(&plan, "big").prerequisite_user.as_deref(), Some("res"));
    assert_eq!(item(&plan, "tiny").prerequisite_by, Some(SetBy::Schedule));
    assert_eq!(item(&plan, "mid").prerequisite_user, None);
    assert_eq!(item(&plan, "res").prerequisite_user, None);
    // Packages have no priority key in their schema: nothing is set.
    assert_eq!(item(&plan, "gold").priority, None);
}

#[test]
fn the_estimate_states_bytes_pools_and_throughput() {
    let plan = scheduled(Pools::new(Some(2), Some(30)));
    let e = plan.sources[0].estimate.as_ref().unwrap();
    assert_eq!(e.items, 6);
    assert_eq!(e.bytes, 1_000 + 900_000 + 10 + 500_000 + 100);
    assert_eq!((e.transfer_threads, e.restore_threads), (2, 6));
    let total = plan.estimate.as_ref().unwrap();
    assert_eq!(total.bytes, e.bytes);
    assert_eq!(total.duration_ms, e.duration_ms);
    assert_eq!(total.throughput.from, ThroughputSource::Given);
    // The package (1 µs), then res (1 ms) and big (900 ms) on one worker, mid (500 ms)
    // on the other: big's transfer ends last and its restore adds 450 ms.
    assert_eq!(
        e.duration_ms,
        (1 + 1_000 + 900_000 + 450_000_u64).div_ceil(1000)
    );
}

#[test]
fn a_manifest_prerequisite_wins_over_the_owner() {
    let mut desired_item = account("big", &[("prerequisite_user", "mid")]);
    desired_item.params.push(("priority".into(), "3".into()));
    let desired = Desired {
        migration: "m".into(),
        sources: vec![DesiredSource {
            name: "old1".into(),
            host: "h".into(),
            kind: SessionKind::Root,
            waive: vec![],
            items: vec![account("res", &[]), desired_item, account("mid", &[])],
        }],
    };
    let mut analysis = RemoteAnalysis::default();
    analysis.items.accounts = vec![
        src_account("res", "root", 1),
        src_account("big", "res", 2),
        src_account("mid", "root", 3),
    ];
    let observed = Observed {
        sources: vec![ObservedSource {
            name: "old1".into(),
            analysis: Some(analysis),
            ..ObservedSource::default()
        }],
        ..Observed::default()
    };
    let mut plan = diff(&desired, &observed);
    schedule(&mut plan, &desired, &observed, &[], DEFAULT_THROUGHPUT);
    let big = item(&plan, "big");
    assert_eq!(big.prerequisite_user.as_deref(), Some("mid"));
    assert_eq!(big.prerequisite_by, Some(SetBy::Manifest));
    assert_eq!(
        (big.priority, big.priority_by),
        (Some(3), Some(SetBy::Manifest))
    );
    let e = plan.sources[0].estimate.as_ref().unwrap();
    assert_eq!((e.transfer_threads, e.restore_threads), (1, 1));
    assert_eq!(
        plan.estimate.unwrap().throughput.from,
        ThroughputSource::Default
    );
}

/// A hostile or broken server's sizes (two accounts of 1e19 bytes, more than a u64
/// holds together) saturate; they neither panic nor wrap (issue 20 item 7).
#[test]
fn sizes_beyond_a_u64_together_saturate() {
    let huge = 10_000_000_000_000_000_000u64;
    let desired = Desired {
        migration: "m".into(),
        sources: vec![DesiredSource {
            name: "old1".into(),
            host: "old1.example.com".into(),
            kind: SessionKind::Root,
            waive: vec![],
            items: vec![account("a", &[]), account("b", &[])],
        }],
    };
    let mut analysis = RemoteAnalysis::default();
    analysis.remote.has_disk_used = true;
    analysis.items.accounts = vec![
        src_account("a", "root", huge),
        src_account("b", "root", huge),
    ];
    let observed = observed_with(analysis);
    let mut plan = diff(&desired, &observed);
    schedule(
        &mut plan,
        &desired,
        &observed,
        &[Pools::new(Some(2), Some(2))],
        DEFAULT_THROUGHPUT,
    );
    assert_eq!(plan.summary.bytes_to_transfer, u64::MAX);
    let estimate = plan.estimate.as_ref().unwrap();
    assert_eq!(estimate.bytes, u64::MAX);
    assert!(estimate.duration_ms > 0);
    let text = crate::plan::render::text(&plan);
    assert!(text.contains("16.00 EiB"), "{text}");
    crate::plan::render::markdown(&plan);
    crate::plan::render::json(&plan);
}

#[test]
fn keys_the_server_lacks_are_neither_set_nor_assumed() {
    let desired = Desired {
        migration: "m".into(),
        sources: vec![DesiredSource {
            name: "old1".into(),
            host: "h".into(),
            kind: SessionKind::Root,
            waive: vec![],
            items: vec![
                account("res", &[]),
                account("big", &[]),
                account("mid", &[]),
            ],
        }],
    };
    let mut analysis = RemoteAnalysis::default();
    analysis.remote.has_disk_used = true;
    analysis.items.accounts = vec![
        src_account("res", "root", 1_000),
        src_account("big", "res", 900_000),
        src_account("mid", "root", 500_000),
    ];
    let mut observed = observed_with(analysis);
    let keys = ["user", "localuser", "domain", "size"];
    observed.server_keys = Some(crate::plan::live::ServerKeys {
        version: Some("11.110.0.5".into()),
        modules: [(
            "AccountRemoteRoot".to_owned(),
            keys.iter().map(|k| (*k).to_owned()).collect(),
        )]
        .into(),
    });
    let mut plan = diff(&desired, &observed);
    let pools = [Pools::new(Some(2), Some(2))];
    schedule(&mut plan, &desired, &observed, &pools, unit(None));
    for key in ["res", "big", "mid"] {
        assert_eq!(item(&plan, key).priority, None, "{key}");
        assert_eq!(item(&plan, key).prerequisite_user, None, "{key}");
    }
    let unsent = &plan.sources[0].unsent;
    let priority = unsent.iter().find(|u| u.key == "priority").unwrap();
    assert_eq!(priority.items, ["big", "mid", "res"]);
    assert_eq!(priority.set_by, SetBy::Schedule);
    let prerequisite = unsent
        .iter()
        .find(|u| u.key == "prerequisite_user")
        .unwrap();
    assert_eq!(prerequisite.items, ["big"]);
    // Name order, no waiting on the reseller: big and mid start at once, res follows mid.
    let e = plan.sources[0].estimate.as_ref().unwrap();
    assert_eq!(e.duration_ms, 900);
}

/// A source whose own sessions measured a pace is estimated at it, and says so; one
/// whose own is the plan's, or that has none, at the plan's.
#[test]
fn a_source_with_a_pace_of_its_own_is_estimated_at_it() {
    let source = |name: &str| DesiredSource {
        name: name.into(),
        host: format!("{name}.example"),
        kind: SessionKind::Root,
        waive: vec![],
        items: vec![account("a", &[]), account("b", &[])],
    };
    let desired = Desired {
        migration: "m".into(),
        sources: vec![source("old1"), source("old2"), source("old3")],
    };
    let mut analysis = RemoteAnalysis::default();
    analysis.items.accounts = vec![src_account("a", "root", 1), src_account("b", "root", 2)];
    let observed = Observed {
        sources: ["old1", "old2", "old3"]
            .iter()
            .map(|name| ObservedSource {
                name: (*name).into(),
                analysis: Some(analysis.clone()),
                ..ObservedSource::default()
            })
            .collect(),
        ..Observed::default()
    };
    let plan_pace = unit(Some(2_000_000));
    // old1's own sessions measured another rate and a fixed second per step.
    let slow = Throughput {
        transfer_bytes_per_second: 1_048_576,
        step_overhead_ms: 1_000,
        ..plan_pace
    };
    let mut plan = diff(&desired, &observed);
    schedule_paced(
        &mut plan,
        &desired,
        &observed,
        &[],
        plan_pace,
        &[Some(slow), Some(plan_pace)],
    );
    let estimate = |i: usize| plan.sources[i].estimate.clone().unwrap();
    assert_eq!(estimate(0).throughput, Some(slow));
    assert_eq!(estimate(1).throughput, None, "its own is the plan's");
    assert_eq!(estimate(2).throughput, None, "none of its own");
    assert_eq!(estimate(1).duration_ms, estimate(2).duration_ms);
    assert!(
        estimate(0).duration_ms > estimate(2).duration_ms + 2_000,
        "{} against {}",
        estimate(0).duration_ms,
        estimate(2).duration_ms
    );
    let total = plan.estimate.unwrap();
    assert_eq!(total.throughput, plan_pace);
    assert_eq!(
        total.duration_ms,
        estimate(0).duration_ms,
        "the longest decides"
    );
    assert!(
        crate::plan::render::estimate_line(&plan.sources[0])
            .unwrap()
            .contains("at this source's own measured pace (1.00 MiB/s per transfer worker, 1s per item step)"),
        "{:?}",
        crate::plan::render::estimate_line(&plan.sources[0])
    );
}
