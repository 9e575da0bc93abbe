#!/bin/sh
# The benchmark sweep of docs/benchmarks.md: builds the CLI and the harness in release
# mode, then runs the harness (which starts the simulator and the CLI as child
# processes). Arguments go to the harness: --quick, --accounts 100,1000, --sources 1,10,
# --session SECS, --idle SECS; --accuracy [--seeds 1,2,3] [--accuracy-session SECS]
# runs only the time-left accuracy table.
set -eu
cd "$(dirname "$0")/.."
cargo build --release --bin whm-migrate --example bench
exec target/release/examples/bench "$@"
