//! `whm-migrate init` against the simulator (issue 22): a manifest written from a
//! 300-account source that validates and plans as written, waves balanced by bytes, a
//! second source spliced into a hand-written file, and a user source's limits.

use crate::support::{Bin, Case, Out, SRC_PASSWORD, SimContext, TOKEN, calls, wait_for};
use serde_json::Value;
use std::collections::BTreeMap;
use whm_migrate::sim::world::{DestAccount, Package, Source, SourceAccount};
use whm_migrate::sim::{Faults, World};

const HOST: &str = "src.example.com";
const ACCOUNTS: usize = 300;
const RESELLERS: usize = 6;
/// Accounts the destination already has (same user, same domain).
const PRESENT: [usize; 5] = [3, 50, 120, 201, 299];

fn user(i: usize) -> String {
    if i < RESELLERS {
        format!("res{i}")
    } else {
        format!("u{i:03}")
    }
}

fn account(i: usize) -> SourceAccount {
    // Sizes spread over three orders of magnitude, deterministically.
    let size = 1_000_000 + (i as u64 * 7_919 % 997) * 3_000_000 + (i as u64 % 11) * 40_000_000;
    SourceAccount {
        user: user(i),
        domain: format!("{}.example", user(i)),
        owner: if i >= RESELLERS && i.is_multiple_of(7) {
            user(i % RESELLERS)
        } else {
            "root".to_owned()
        },
        plan: ["basic", "gold", "silver"][i % 3].to_owned(),
        bytesused: size,
        filesused: 100 + i as u64,
        has_dedicated_ip: i % 50 == 7,
        databases: Vec::new(),
        db_users: Vec::new(),
        fail_transfer: None,
        fail_restore: None,
        warnings: Vec::new(),
        addon_domains: Vec::new(),
        restore_loses: Default::default(),
        site: Default::default(),
        mailboxes: Vec::new(),
    }
}

fn package(name: &str, featurelist: &str) -> Package {
    Package {
        name: name.to_owned(),
        featurelist: featurelist.to_owned(),
        settings: BTreeMap::new(),
    }
}

/// 300 accounts on one root source (six resellers owning some of them, three packages,
/// two feature lists of their own), five of them already on the destination.
fn big_world() -> World {
    let mut source = Source {
        resellers: (0..RESELLERS).map(user).collect(),
        accounts: (0..ACCOUNTS).map(account).collect(),
        packages: vec![
            package("basic", "default"),
            package("gold", "gold features"),
            package("silver", "silver features"),
        ],
        featurelists: vec![
            "default".into(),
            "gold features".into(),
            "silver features".into(),
        ],
        module_warnings: BTreeMap::from([(
            "Exim".to_owned(),
            "The remote Exim configuration differs from the local one.".to_owned(),
        )]),
        ..Source::default()
    };
    SRC_PASSWORD.clone_into(&mut source.credentials.root_password);
    let mut world = World::default();
    for i in PRESENT {
        let a = account(i);
        world.destination.accounts.push(DestAccount {
            user: a.user,
            domain: a.domain,
            owner: "root".into(),
            plan: "default".into(),
            ip: None,
            diskused: a.bytesused,
            inodesused: 0,
            databases: Vec::new(),
            startdate: 0,
            addon_domains: Vec::new(),
            unmapped_domains: Vec::new(),
            mailboxes: Vec::new(),
            site: None,
        });
    }
    world.sources.insert(HOST.to_owned(), source);
    world
}

/// A scratch directory (its seed manifest unused) whose runs have the test secrets.
fn scratch() -> Case {
    Case::file("seed.toml", "")
}

/// `init` against the simulator's destination, the flags of the source to follow.
fn init_cmd(case: &Case, sim: &SimContext) -> Bin {
    case.bin().args([
        "init",
        "--url",
        &sim.sim.base_url(),
        "--token-env",
        "WHM_TEST_TOKEN",
    ])
}

/// `init` for the simulator, writing `out`, with `extra` flags.
async fn init(case: &Case, sim: &SimContext, out: &str, extra: &[&str]) -> Out {
    init_cmd(case, sim)
        .args([
            "--source",
            HOST,
            "--source-name",
            "old1",
            "--password-env",
            "SRC_PW",
        ])
        .args(["--name", "init-test", "--out", out, "--state-dir"])
        .arg(&case.state)
        .args(extra)
        .run()
        .await
}

fn json(out: &Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:#?}"))
}

/// The plan's items of every source, by action.
fn actions(plan: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for source in plan["sources"].as_array().unwrap() {
        for item in source["items"].as_array().unwrap() {
            out.entry(item["action"].as_str().unwrap().to_owned())
                .or_default()
                .push(format!(
                    "{}/{}",
                    item["module"].as_str().unwrap(),
                    item["key"].as_str().unwrap()
                ));
        }
    }
    out
}

/// Every session the journal of `init-test` records is no longer PENDING on the
/// simulator; returns how many there are.
fn none_pending(case: &Case, sim: &SimContext) -> usize {
    let journal = case.journal("init-test");
    let mut n = 0;
    for source in journal["sources"].as_object().unwrap().values() {
        for s in source["previous_sessions"].as_array().into_iter().flatten() {
            let id = s["id"].as_str().unwrap();
            let state = sim.sim.session_state(id);
            assert_ne!(state.as_deref(), Some("PENDING"), "{id}");
            assert_eq!(s["retired"], "discarded", "{s:#}");
            n += 1;
        }
        assert!(source["session"].is_null(), "{source:#}");
    }
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn init_writes_a_300_account_manifest_that_validates_and_plans_295_transfers() {
    let sim = SimContext::start(big_world()).await;
    let case = scratch();
    let out = init(&case, &sim, "plan.toml", &[]).await;
    out.assert_code(0);
    let path = case.path("plan.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    // One session, read and discarded; nothing left PENDING.
    let s = sim.sim.stats();
    assert_eq!(calls(&s, "create_remote_root_transfer_session"), 1);
    assert_eq!(calls(&s, "abort_transfer_session"), 1);
    assert_eq!(none_pending(&case, &sim), 1);
    // Secrets as references only.
    assert!(
        !text.contains(SRC_PASSWORD) && !text.contains(TOKEN),
        "{text}"
    );
    assert!(
        text.contains("token = { env = \"WHM_TEST_TOKEN\" }"),
        "{text}"
    );
    assert!(text.contains("password = { env = \"SRC_PW\" }"), "{text}");
    // Each account with its domain and a comment; the present ones commented out.
    assert!(text.contains("# u010: "), "{text}");
    assert!(
        text.contains("user = \"u010\"\ndomain = \"u010.example\"\n"),
        "{text}"
    );
    assert!(text.contains("dedicated IP on the source"), "{text}");
    assert!(
        text.contains("Exim warns: The remote Exim configuration"),
        "{text}"
    );
    for i in PRESENT {
        let line = format!("# user = \"{}\"\n", user(i));
        assert!(
            text.contains(&line),
            "{} not commented out: {text}",
            user(i)
        );
    }
    assert!(text.contains("# Left out: already-present"), "{text}");
    assert!(
        out.stderr
            .contains("wrote plan.toml: 2 feature list(s), 3 package(s), 295 account(s) to move"),
        "{out:#?}"
    );
    // It validates, and its plan transfers everything written.
    case.command_on("validate", &path, &[])
        .run()
        .await
        .assert_code(0);
    let planned = case
        .command_on("plan", &path, &["--format", "json", "--no-keep"])
        .run()
        .await;
    planned.assert_code(0);
    let by_action = actions(&json(&planned));
    assert_eq!(
        by_action.keys().collect::<Vec<_>>(),
        ["transfer"],
        "{by_action:#?}"
    );
    let transfers = &by_action["transfer"];
    let accounts = transfers
        .iter()
        .filter(|k| k.starts_with("AccountRemoteRoot/"))
        .count();
    assert_eq!(accounts, ACCOUNTS - PRESENT.len());
    for item in [
        "FeatureListRemoteRoot/gold features",
        "FeatureListRemoteRoot/silver features",
        "PackageRemoteRoot/basic",
        "PackageRemoteRoot/gold",
        "PackageRemoteRoot/silver",
    ] {
        assert!(
            transfers.iter().any(|k| k == item),
            "{item}: {transfers:#?}"
        );
    }
    // A reseller's accounts get their order from plan.
    let plan = json(&planned);
    let u014 = plan["sources"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "u014")
        .unwrap();
    assert_eq!(u014["prerequisite_user"], "res2", "{u014:#}");
    // A left-out item, uncommented, is what its comment said.
    let block = "# [[sources.accounts]]\n# user = \"res3\"\n# domain = \"res3.example\"\n";
    assert!(text.contains(block), "{text}");
    let edited = text.replace(block, &block.replace("# ", ""));
    std::fs::write(&path, edited).unwrap();
    let replanned = case
        .command_on("plan", &path, &["--format", "json", "--no-keep"])
        .run()
        .await;
    replanned.assert_code(0);
    let by_action = actions(&json(&replanned));
    assert_eq!(by_action["already-present"], ["AccountRemoteRoot/res3"]);
    // The same output again: a stable order, whatever the analysis' own.
    let again = scratch();
    init(&again, &sim, "plan.toml", &[]).await.assert_code(0);
    let second = std::fs::read_to_string(again.path("plan.toml")).unwrap();
    let body = |t: &str| t.split_once("[[sources]]").unwrap().1.to_owned();
    assert_eq!(body(&text), body(&second));
}

#[tokio::test(flavor = "multi_thread")]
async fn init_then_apply_moves_every_written_item() {
    let sim = SimContext::start(big_world()).await;
    let case = scratch();
    init(&case, &sim, "plan.toml", &[]).await.assert_code(0);
    let path = case.path("plan.toml");
    let applied = case.command_on("apply", &path, &[]).run().await;
    applied.assert_code(0);
    let world = sim.sim.world();
    for i in 0..ACCOUNTS {
        assert!(world.destination.account(&user(i)).is_some(), "{}", user(i));
    }
    for p in ["basic", "gold", "silver"] {
        assert!(
            world.destination.packages.iter().any(|x| x.name == p),
            "{p}"
        );
    }
    for f in ["gold features", "silver features"] {
        assert!(world.destination.featurelists.iter().any(|x| x == f), "{f}");
    }
    let s = sim.sim.stats();
    assert_eq!(
        s.transfers.len(),
        ACCOUNTS - PRESENT.len(),
        "only the written ones moved"
    );
    // And the plan after it has nothing left to do.
    let planned = case
        .command_on("plan", &path, &["--format", "json"])
        .run()
        .await;
    planned.assert_code(0);
    let by_action = actions(&json(&planned));
    assert!(!by_action.contains_key("transfer"), "{by_action:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn init_waves_3_balances_bytes_within_10_percent_with_resellers_whole() {
    let world = big_world();
    let sim = SimContext::start(world.clone()).await;
    let case = scratch();
    let out = init(&case, &sim, "plan.toml", &["--waves", "3"]).await;
    out.assert_code(0);
    let text = std::fs::read_to_string(case.path("plan.toml")).unwrap();
    let manifest: toml::Value = toml::from_str(&text).unwrap();
    let source = &world.sources[HOST];
    let size = |u: &str| source.account(u).unwrap().bytesused;
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    let mut wave_of: BTreeMap<String, String> = BTreeMap::new();
    for a in manifest["sources"][0]["accounts"].as_array().unwrap() {
        let u = a["user"].as_str().unwrap();
        let w = a["wave"]
            .as_str()
            .unwrap_or_else(|| panic!("{u} has no wave"));
        *totals.entry(w.to_owned()).or_default() += size(u);
        wave_of.insert(u.to_owned(), w.to_owned());
    }
    assert_eq!(wave_of.len(), ACCOUNTS - PRESENT.len());
    assert_eq!(totals.len(), 3, "{totals:?}");
    let (min, max) = (
        *totals.values().min().unwrap(),
        *totals.values().max().unwrap(),
    );
    assert!(max - min <= max / 10, "not within 10%: {totals:?}");
    for a in &source.accounts {
        // (res3 is already on the destination: its accounts balance on their own.)
        if wave_of.contains_key(&a.user) && wave_of.contains_key(&a.owner) {
            assert_eq!(
                wave_of[&a.user], wave_of[&a.owner],
                "{} and its owner",
                a.user
            );
        }
    }
    for w in ["wave-1", "wave-2", "wave-3"] {
        assert!(
            out.stderr
                .lines()
                .any(|l| l.contains(&format!("{w}: ")) && l.contains("about")),
            "{w}: {out:#?}"
        );
    }
    assert!(out.stderr.contains("per transfer worker"), "{out:#?}");
    // Each wave plans on its own.
    let path = case.path("plan.toml");
    let planned = case
        .command_on(
            "plan",
            &path,
            &["--format", "json", "--wave", "wave-2", "--no-keep"],
        )
        .run()
        .await;
    planned.assert_code(0);
    let accounts = actions(&json(&planned))
        .get("transfer")
        .unwrap_or_else(|| panic!("{planned:#?}"))
        .iter()
        .filter(|k| k.starts_with("AccountRemoteRoot/"))
        .count();
    assert_eq!(
        accounts,
        wave_of.values().filter(|w| *w == "wave-2").count()
    );
}

/// The world with a second root source, `src2.example.com`, of two accounts.
fn two_source_world() -> World {
    let mut world = big_world();
    let mut second = Source::default();
    "SECOND-PW".clone_into(&mut second.credentials.root_password);
    second.packages.push(package("bronze", "default"));
    for (u, size) in [("zed", 5_000_000), ("u010", 1_000)] {
        let mut a = account(0);
        u.clone_into(&mut a.user);
        a.domain = format!("{u}.second.example");
        "root".clone_into(&mut a.owner);
        a.bytesused = size;
        second.accounts.push(a);
    }
    world.sources.insert("src2.example.com".to_owned(), second);
    world
}

const HAND_WRITTEN: &str = r#"# Our migration, by hand.   Keep this comment!
version = 1
name = "init-test"

[destination]      # the new box
url = "URL"
token = { env = "WHM_TEST_TOKEN" }

[[sources]]
name = "old1"
host = "src.example.com"
kind = 'root'
password = { env = "SRC_PW" }

# the shop goes first
[[sources.accounts]]
user   = "u010"     # aligned by hand
domain = "u010.example"
priority = 1

# loose tolerances for this one
[verify]
disk_tolerance_percent = 15
"#;

#[tokio::test(flavor = "multi_thread")]
async fn init_into_adds_a_second_source_and_keeps_every_line_byte_for_byte() {
    let sim = SimContext::start(two_source_world()).await;
    let original = HAND_WRITTEN.replace("URL", &sim.sim.base_url());
    let case = Case::new(&original).with_env("SRC2_PW", "SECOND-PW");
    // Only the new source's password is needed (old1's SRC_PW is not set).
    let into = |name: &str, host: &str| {
        case.bin()
            .env_remove("SRC_PW")
            .args(["init", "--into"])
            .arg(&case.manifest)
            .args([
                "--source",
                host,
                "--source-name",
                name,
                "--password-env",
                "SRC2_PW",
            ])
            .arg("--state-dir")
            .arg(&case.state)
    };
    let out = into("old2", "src2.example.com").run().await;
    out.assert_code(0);
    let text = std::fs::read_to_string(&case.manifest).unwrap();
    let mut lines = text.lines();
    for line in original.lines() {
        assert!(lines.any(|l| l == line), "lost or moved: {line:?}\n{text}");
    }
    assert!(
        text.starts_with(&original[..original.find("# loose").unwrap()]),
        "{text}"
    );
    assert!(
        text.contains("name = \"old2\"\nhost = \"src2.example.com\""),
        "{text}"
    );
    assert!(text.contains("user = \"zed\""), "{text}");
    assert!(
        text.contains("# Left out: source “old1” of this manifest already moves"),
        "{text}"
    );
    assert!(!text.contains("SECOND-PW"), "{text}");
    case.run("validate", &[]).await.assert_code(0);
    let plan = json(&case.run("plan", &["--format", "json", "--no-keep"]).await);
    let old2 = plan["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "old2")
        .unwrap();
    assert!(
        old2["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["action"] == "transfer"),
        "{old2:#}"
    );
    // A name or a host already there is refused, and the file is left alone.
    for (name, host, why) in [
        ("old2", "src3.example.com", "named “old2”"),
        ("old3", "src2.example.com", "already has a source for host"),
    ] {
        let refused = into(name, host).run().await;
        refused.assert_code(1);
        assert!(refused.stderr.contains(why), "{refused:#?}");
        assert_eq!(std::fs::read_to_string(&case.manifest).unwrap(), text);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn init_of_a_user_source_writes_its_account_only_and_says_what_it_cannot() {
    let mut world = big_world();
    let src = world.sources.get_mut(HOST).unwrap();
    src.credentials
        .cpanel
        .insert("u010".to_owned(), "JANE-PW-5b1".to_owned());
    let sim = SimContext::start(world).await;
    let case = scratch().with_env("JANE_PW", "JANE-PW-5b1");
    let run = |extra: &'static [&'static str]| {
        init_cmd(&case, &sim)
            .args([
                "--source",
                HOST,
                "--kind",
                "user",
                "--password-env",
                "JANE_PW",
            ])
            .args(["--name", "init-test", "--state-dir"])
            .arg(&case.state)
            .args(extra)
    };
    let refused = run(&[]).run().await;
    refused.assert_code(1);
    assert!(refused.stderr.contains("--user ACCOUNT"), "{refused:#?}");
    let out = run(&["--user", "u010", "--out", "jane.toml"]).run().await;
    out.assert_code(0);
    assert!(
        out.stderr.contains("a user session has no analysis"),
        "{out:#?}"
    );
    let s = sim.sim.stats();
    assert_eq!(calls(&s, "create_remote_user_transfer_session"), 1);
    assert_eq!(calls(&s, "create_remote_root_transfer_session"), 0);
    assert_eq!(none_pending(&case, &sim), 1);
    let path = case.path("jane.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("kind = \"user\""), "{text}");
    assert!(
        text.contains("[[sources.accounts]]\nuser = \"u010\"\n"),
        "{text}"
    );
    assert!(
        !text.contains("[[sources.packages]]") && !text.contains("JANE-PW"),
        "{text}"
    );
    assert!(
        text.contains("cannot move packages or feature lists"),
        "{text}"
    );
    case.command_on("validate", &path, &[])
        .run()
        .await
        .assert_code(0);
    let plan = json(
        &case
            .command_on("plan", &path, &["--format", "json"])
            .run()
            .await,
    );
    assert_eq!(
        actions(&plan).keys().collect::<Vec<_>>(),
        ["transfer"],
        "{plan:#}"
    );
    // A wrong password is the destination's refusal, and leaves nothing behind.
    let wrong = scratch().with_env("JANE_PW", "nope");
    let denied = init_cmd(&wrong, &sim)
        .args([
            "--source",
            HOST,
            "--kind",
            "user",
            "--user",
            "u010",
            "--password-env",
            "JANE_PW",
        ])
        .run()
        .await;
    denied.assert_code(1);
}

#[tokio::test(flavor = "multi_thread")]
async fn init_never_overwrites_and_contacts_nothing_when_refusing() {
    let sim = SimContext::start(big_world()).await;
    let case = scratch();
    std::fs::write(case.path("plan.toml"), "# mine\n").unwrap();
    let out = init(&case, &sim, "plan.toml", &[]).await;
    out.assert_code(1);
    assert!(out.stderr.contains("does not overwrite"), "{out:#?}");
    assert_eq!(
        std::fs::read_to_string(case.path("plan.toml")).unwrap(),
        "# mine\n"
    );
    let nowhere = init(&case, &sim, "no/such/folder/plan.toml", &[]).await;
    nowhere.assert_code(1);
    assert!(nowhere.stderr.contains("does not exist"), "{nowhere:#?}");
    let s = sim.sim.stats();
    assert_eq!(calls(&s, "create_remote_root_transfer_session"), 0);
    // To stdout when no --out is given, the pin written as the destination's trust
    // (plain HTTP to the loopback simulator never uses it).
    let fp = "AB".repeat(32);
    let printed = init_cmd(&case, &sim)
        .args([
            "--pin-sha256",
            &fp,
            "--source",
            HOST,
            "--password-env",
            "SRC_PW",
        ])
        .arg("--state-dir")
        .arg(&case.state)
        .run()
        .await;
    printed.assert_code(0);
    assert!(
        printed.stdout.contains(&format!("pin_sha256 = \"{fp}\"")),
        "{printed:#?}"
    );
    assert!(
        printed.stdout.contains("name = \"src-to-127.0.0.1\""),
        "{printed:#?}"
    );
    assert!(
        printed.stderr.contains("printed the manifest: "),
        "{printed:#?}"
    );
}

/// SIGKILL after the destination created init's session but before its id reached the
/// journal: the next init, and every command on the manifest it writes, report it.
#[tokio::test(flavor = "multi_thread")]
async fn a_crash_inside_init_is_reported_like_every_unrecorded_session() {
    let sim = SimContext::start(big_world()).await;
    sim.sim.set_faults(Faults {
        answer_delay_ms: [("create_remote_root_transfer_session".to_owned(), 30_000)].into(),
        ..Faults::default()
    });
    let case = scratch();
    let mut child = init_cmd(&case, &sim)
        .args([
            "--source",
            HOST,
            "--source-name",
            "old1",
            "--password-env",
            "SRC_PW",
        ])
        .args(["--name", "init-test", "--out", "plan.toml", "--state-dir"])
        .arg(&case.state)
        .spawn();
    assert!(
        wait_for(&sim, &mut child, |s| s.sessions_created == 1).await,
        "init never asked for a session"
    );
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    sim.sim.set_faults(Faults::default());
    assert!(!case.path("plan.toml").exists(), "nothing written");
    let started = case.journal("init-test")["sources"]["old1"]["create_started"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = init(&case, &sim, "plan.toml", &[]).await;
    again.assert_code(0);
    let warning = format!("started at {started} was never recorded");
    assert!(again.stderr.contains(&warning), "{again:#?}");
    let status = case
        .command_on("status", &case.path("plan.toml"), &[])
        .run()
        .await;
    assert!(status.stdout.contains(&warning), "{status:#?}");
}

/// The whole text `init` prints for the plan world (a destination that already holds
/// part of it and has things in the way), and its summary.
#[tokio::test(flavor = "multi_thread")]
async fn init_output_of_the_plan_world() {
    let mut w = crate::support::world("plan");
    SRC_PASSWORD.clone_into(&mut w.sources.get_mut(HOST).unwrap().credentials.root_password);
    let sim = SimContext::start(w).await;
    let case = scratch();
    let out = init_cmd(&case, &sim)
        .args([
            "--source",
            HOST,
            "--source-name",
            "old1",
            "--password-env",
            "SRC_PW",
        ])
        .args([
            "--name",
            "init-test",
            "--waves",
            "2",
            "--color",
            "never",
            "--state-dir",
        ])
        .arg(&case.state)
        .run()
        .await;
    out.assert_code(0);
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.bind(|| {
        insta::assert_snapshot!("init_plan_world_stdout", out.stdout);
        insta::assert_snapshot!("init_plan_world_stderr", out.stderr);
    });
}

/// A reseller left out (its domain belongs to another account on the destination)
/// leaves its accounts' owner missing: init decides again and says so on each of them.
#[tokio::test(flavor = "multi_thread")]
async fn a_reseller_left_out_is_named_on_each_of_its_accounts() {
    let mut w = big_world();
    let mut taken = w.destination.accounts[0].clone();
    "squatter".clone_into(&mut taken.user);
    "res4.example".clone_into(&mut taken.domain);
    w.destination.accounts.push(taken);
    let sim = SimContext::start(w).await;
    let case = scratch();
    init(&case, &sim, "plan.toml", &[]).await.assert_code(0);
    let text = std::fs::read_to_string(case.path("plan.toml")).unwrap();
    assert!(
        text.contains(
            "# Left out: conflict: domain res4.example belongs to destination user “squatter”"
        ),
        "{text}"
    );
    // u028 (28 % 7 == 0, 28 % 6 == 4) belongs to res4.
    assert!(
        text.contains("# u028: check owner-missing: “u028” belongs to reseller “res4”"),
        "{text}"
    );
    assert!(
        text.contains("[[sources.accounts]]\nuser = \"u028\"\n"),
        "{text}"
    );
}
