#!/usr/bin/env bash
# make bench: runs every benchmark binary and keeps their output under build/bench-results.
set -euo pipefail
BUILD=${1:-build}
OUT="$BUILD/bench-results"
mkdir -p "$OUT"
echo "== bench_psi (ECDH PSI vs. compute bound; 2^12..2^${PSI_MAX_LOG:-20} per party)"
"$BUILD/bin/bench_psi" --min-log "${PSI_MIN_LOG:-12}" --max-log "${PSI_MAX_LOG:-20}" --json "$OUT/psi.json" | tee "$OUT/psi.txt"
echo "== bench_psi --protocol KKRT_PSI_2PC (KKRT16; 2^12..2^${KKRT_MAX_LOG:-20} per party)"
"$BUILD/bin/bench_psi" --protocol KKRT_PSI_2PC --min-log 12 --max-log "${KKRT_MAX_LOG:-20}" --json "$OUT/psi_kkrt.json" | tee "$OUT/psi_kkrt.txt"
echo "== bench_mpc (secret-sharing kernels)"
"$BUILD/bin/bench_mpc" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true | tee "$OUT/mpc.txt"
echo "== bench_ot (IKNP OT extension, both parties in-process)"
"$BUILD/bin/bench_ot" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true | tee "$OUT/ot.txt"
echo "== bench_okvs (RB-OKVS encode/decode, 2^16 and 2^20; 2^24 with --benchmark_filter=16777216)"
"$BUILD/bin/bench_okvs" --benchmark_filter='/(65536|1048576)/' --benchmark_repetitions=3 --benchmark_report_aggregates_only=true | tee "$OUT/okvs.txt"
echo "== bench_stats (pearson_correlation and vif, 100k rows x 30 columns, 2 processes over TCP)"
"$BUILD/bin/bench_stats" --json "$OUT/stats.json" | tee "$OUT/stats.txt"
echo "== bench_lr (ss_lr 100k x 100, 10 epochs, batch 1024; 2 processes over TCP)"
"$BUILD/bin/bench_lr" | tee "$OUT/lr.txt"
echo "== bench_xgb (ss_xgb 100k rows x 30 features, 10 trees depth 5, then ss_xgb_predict; 2 processes over TCP)"
"$BUILD/bin/bench_xgb" --json "$OUT/xgb.json" | tee "$OUT/xgb.txt"
echo "== bench_worker (ping tasks through one veil worker; LPUSH -> task start)"
"$BUILD/bin/bench_worker" | tee "$OUT/worker.txt"
