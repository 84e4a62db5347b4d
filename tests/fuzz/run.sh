#!/bin/sh
# Runs each libFuzzer target for SECONDS on its corpus (seeded from tests/fuzz/corpus) and
# prints a summary line per target from libFuzzer's final stats. The per-input timeout is 60 s:
# under ASan on a loaded 2-core machine a legitimate large decode can take over 10 s (a
# 'slow unit'), which libFuzzer's default would report as a hang and stop the campaign.
# usage: run.sh FUZZ_BIN_DIR SECONDS TARGET...
set -u
bin=$1 secs=$2; shift 2
for t in "$@"; do
    work=.cache/fuzz/$t crashes=.cache/fuzz/crashes/$t
    mkdir -p "$work" "$crashes"
    log=.cache/fuzz/$t.log
    "$bin/fuzz-$t" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 -timeout=60 \
        -artifact_prefix="$crashes/" "$work" tests/fuzz/corpus/"$t" > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    echo "fuzz-$t: ${secs}s, $execs runs, $speed exec/s, $cov, exit $rc, crashes: $(ls "$crashes" | wc -l)"
done
