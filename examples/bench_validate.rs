//! `validate` of a generated manifest: `cargo run --release --example bench_validate -- 10000`.
//! Prints the best and median wall time of loading + validating it (the `validate`
//! command's work, without process start-up) over 10 runs.

use std::fmt::Write as _;
use std::time::Instant;

fn main() {
    let accounts: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.toml");
    let mut text = String::from(
        "version = 1\nname = \"bench\"\n[destination]\nurl = \"https://new1.example.com:2087\"\ntoken = { env = \"WHM_API_TOKEN\" }\n[defaults.accounts]\nskipbwdata = true\n[[sources]]\nname = \"old1\"\nhost = \"old1.example.com\"\nkind = \"root\"\npassword = { env = \"OLD1_PW\" }\n[[sources.packages]]\nname = \"starter\"\n",
    );
    for i in 0..accounts {
        let _ = write!(
            text,
            "[[sources.accounts]]\nuser = \"u{i:05}\"\ndomain = \"site{i}.example\"\npriority = {}\n",
            i % 200
        );
    }
    std::fs::write(&path, &text).expect("write manifest");
    let mut times = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        let manifest = whm_migrate::manifest::load(&path).expect("valid manifest");
        times.push(start.elapsed());
        assert_eq!(manifest.sources[0].accounts.len(), accounts);
    }
    times.sort();
    println!(
        "validate {accounts} accounts ({} KiB manifest): best {:?}, median {:?}",
        text.len() / 1024,
        times[0],
        times[times.len() / 2]
    );
}
