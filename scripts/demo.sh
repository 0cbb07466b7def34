#!/usr/bin/env bash
# make demo: two parties' example data and a local-mode PSI, shown step by step.
set -euo pipefail
VEIL=${1:-build/bin/veil}
DIR=${DEMO_DIR:-$(pwd)/build/demo}
rm -rf "$DIR" && mkdir -p "$DIR/data" "$DIR/out"

# alice: a bank's customers (id, age, income); bob: a shop's (uid, label, score).
# 2000 ids each, 1200 of them shared, deterministic.
awk 'BEGIN { print "id,age,income"; for (i = 0; i < 2000; i++) {
       id = (i < 1200) ? i * 7 : 100000 + i; age = 20 + (i * 13) % 50; printf "u%06d,%d,%d\n", id, age, 1000 + age * 80 + (i * 997) % 3000 } }' \
  > "$DIR/data/alice.csv"
awk 'BEGIN { print "uid,label,score"; for (i = 0; i < 2000; i++) {
       id = (i < 1200) ? (1199 - i) * 7 : 200000 + i; score = ((i * 7919) % 1000) / 1000;
       a = (i < 1200) ? (((1199 - i) * 13) % 50) / 50 : 0.5;  # the matching customer age at alice
       label = (0.6 * score + 0.4 * a + ((i * 37) % 10) / 40 > 0.62) ? 1 : 0;
       printf "u%06d,%d,%.3f\n", id, label, score } }' \
  > "$DIR/data/bob.csv"

cat > "$DIR/psi.json" <<JSON
{
  "task_id": "demo-task", "subtask_id": "demo-psi", "execution_id": "demo-exec-1",
  "sf_init_config": {"parties": ["alice", "bob"], "address": "local"},
  "task_config": {
    "task_type": "psi",
    "keys": {"alice": ["id"], "bob": ["uid"]},
    "input_paths": {"alice": "$DIR/data/alice.csv", "bob": "$DIR/data/bob.csv"},
    "output_paths": {"alice": "$DIR/out/alice_psi.csv", "bob": "$DIR/out/bob_psi.csv"},
    "receiver": "alice", "broadcast_result": true, "protocol": "PROTOCOL_RR22", "sort": true
  }
}
JSON

echo "== veil demo: private set intersection of alice's and bob's customer lists"
echo "   inputs : $DIR/data/alice.csv ($(($(wc -l < "$DIR/data/alice.csv") - 1)) rows), $DIR/data/bob.csv ($(($(wc -l < "$DIR/data/bob.csv") - 1)) rows)"
echo "   envelope: $DIR/psi.json (local mode: both parties in one process)"
echo
set +e
"$VEIL" run "$DIR/psi.json" --events "$DIR/events.jsonl" > "$DIR/result.json"
rc=$?
set -e
echo "== status events"
/usr/bin/python3 - "$DIR/events.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    d = e.get("data", {})
    prog = d.get("progress")
    extra = d.get("phase", "")
    party = e.get("party") or d.get("party") or ""
    print(f"  #{e['seq']:<3} {e['status']:<8} {d.get('stage',''):<22} "
          f"{'' if prog is None else f'{prog:5.2f}'} {party} {extra}")
PY
echo
if [ $rc -ne 0 ]; then echo "demo failed (exit $rc)"; exit $rc; fi
echo "== result"
/usr/bin/python3 - "$DIR/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
res, m = r["result"], r["performance_metrics"]
print(f"  intersection_count : {res['intersection_count']}")
for rep in res["reports"]:
    print(f"  {rep['party']:<6} original {rep['original_count']}, output rows {rep['output_count']}")
print(f"  outputs            : {', '.join(res['output_paths'].values())}")
print(f"  time               : {m['total_execution_time']:.3f} s total, {m['algorithm_exec_time']:.3f} s PSI")
print(f"  traffic            : {m['bytes_sent']} bytes sent, {m['rounds']} rounds")
PY
echo
echo "== first rows of the aligned outputs"
paste -d'|' <(head -4 "$DIR/out/alice_psi.csv") <(head -4 "$DIR/out/bob_psi.csv") | sed 's/^/  /; s/|/   |   /'
echo
echo "full result JSON: $DIR/result.json   events: $DIR/events.jsonl"


# ---- a chain on the intersection: PSI → standard_scaler → table_statistics → pearson ----------
echo
echo "== chain on the aligned intersection: standard_scaler → table_statistics → pearson_correlation"
echo "   → ss_lr → ss_lr_predict → biclassification_eval"
envelope() {  # envelope <name> <task_config json> [spu]: a local-mode envelope file
  local spu=""
  if [ "${3:-}" = spu ]; then
    spu='"spu_config": {"cluster_def": {"nodes": [{"party": "alice", "address": "127.0.0.1:1"},
           {"party": "bob", "address": "127.0.0.1:2"}],
           "runtime_config": {"protocol": "SEMI2K", "field": "FM64"}}},'
  fi
  cat > "$DIR/$1.json" <<JSON
{"task_id": "demo-task", "subtask_id": "demo-$1", "execution_id": "demo-$1",
 "sf_init_config": {"parties": ["alice", "bob"], "address": "local"}, $spu
 "task_config": $2}
JSON
}
run_step() {  # run_step <name>: runs the envelope, prints its stage line or the error
  if ! "$VEIL" run "$DIR/$1.json" > "$DIR/$1_result.json" 2> "$DIR/$1.err"; then
    echo "  $1 failed:"; sed 's/^/    /' "$DIR/$1.err" | tail -5; exit 1
  fi
  /usr/bin/python3 - "$1" "$DIR/$1_result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
m, md = r["performance_metrics"], r["task_metadata"]
print(f"  {sys.argv[1]:<20} ok in {m['total_execution_time']:.3f} s "
      f"(devices {', '.join(md['devices_used'])}; device init {m['device_init_time']:.4f} s)")
PY
}
envelope scaler '{"task_type": "standard_scaler",
  "input_data": {"alice": "'"$DIR"'/out/alice_psi.csv", "bob": "'"$DIR"'/out/bob_psi.csv"},
  "output_data": {"alice": "'"$DIR"'/out/alice_scaled.csv", "bob": "'"$DIR"'/out/bob_scaled.csv"},
  "columns": ["age", "income", "score"]}'
envelope stats '{"task_type": "table_statistics",
  "input_data": {"alice": "'"$DIR"'/out/alice_scaled.csv", "bob": "'"$DIR"'/out/bob_scaled.csv"},
  "columns": ["age", "income", "score", "label"], "output_report": "'"$DIR"'/out/statistics.json"}'
envelope pearson '{"task_type": "pearson_correlation",
  "input_data": {"alice": "'"$DIR"'/out/alice_scaled.csv", "bob": "'"$DIR"'/out/bob_scaled.csv"},
  "columns": ["age", "income", "score", "label"], "output_report": "'"$DIR"'/out/pearson.json"}' spu
envelope ss_lr '{"task_type": "ss_lr",
  "train_data": {"alice": "'"$DIR"'/out/alice_scaled.csv", "bob": "'"$DIR"'/out/bob_scaled.csv"},
  "features": ["age", "income", "score"], "label": "label", "label_party": "bob",
  "model_output": {"alice": "'"$DIR"'/out/model/alice_lr", "bob": "'"$DIR"'/out/model/bob_lr"},
  "params": {"epochs": 10, "learning_rate": 0.3, "batch_size": 64, "sig_type": "t1"}}' spu
envelope ss_lr_predict '{"task_type": "ss_lr_predict",
  "model_path": {"alice": "'"$DIR"'/out/model/alice_lr", "bob": "'"$DIR"'/out/model/bob_lr"},
  "predict_data": {"alice": "'"$DIR"'/out/alice_scaled.csv", "bob": "'"$DIR"'/out/bob_scaled.csv"},
  "output_path": {"bob": "'"$DIR"'/out/bob_predictions.csv"}}' spu
envelope eval '{"task_type": "biclassification_eval",
  "prediction_data": {"bob": "'"$DIR"'/out/bob_eval.csv"},
  "label_column": "label", "prediction_column": "probability",
  "output_report": "'"$DIR"'/out/eval.json", "report_party": "bob"}'
run_step scaler
run_step stats
run_step pearson
run_step ss_lr
run_step ss_lr_predict
# bob puts his own label next to his predictions (a local step: both are his)
/usr/bin/python3 - "$DIR/out/bob_scaled.csv" "$DIR/out/bob_predictions.csv" "$DIR/out/bob_eval.csv" <<'PY'
import csv, sys
labels = [r["label"] for r in csv.DictReader(open(sys.argv[1]))]
preds = list(csv.DictReader(open(sys.argv[2])))
with open(sys.argv[3], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["label", "probability", "prediction"])
    for l, p in zip(labels, preds):
        w.writerow([l, p["probability"], p["prediction"]])
PY
run_step eval
/usr/bin/python3 - "$DIR/out/statistics.json" "$DIR/out/pearson.json" <<'PY'
import json, sys
stats, corr = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print("  table_statistics (after scaling: mean ≈ 0; std is pandas' ddof-1 std, ≈ 1):")
for c, s in stats.items():
    print(f"    {c:<7} count {s['count']:<5} mean {s['mean']:+.4f}  std {s['std']:.4f}  "
          f"min {s['min']:+.3f}  max {s['max']:+.3f}")
cols = list(corr)
print("  pearson_correlation (secret-shared across alice and bob, revealed to alice only):")
print("    " + " " * 8 + "".join(f"{c:>9}" for c in cols))
for a in cols:
    print(f"    {a:<8}" + "".join(f"{corr[a][b]:>9.4f}" for b in cols))
PY
echo "  ss_lr model files (each party holds only its own shares + meta):"
ls -l "$DIR/out/model" | awk 'NR > 1 { printf "    %-22s %6d bytes\n", $9, $5 }'
/usr/bin/python3 - "$DIR/out/eval.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["metrics"]
print("  biclassification_eval of bob's predictions (only bob saw them):")
print(f"    auc {m['auc']:.4f}  ks {m['ks']:.4f}  accuracy {m['accuracy']:.4f}  "
      f"precision {m['precision']:.4f}  recall {m['recall']:.4f}  f1 {m['f1_score']:.4f}")
PY

echo
scripts/demo_nodes.sh "$VEIL"
