#!/usr/bin/env bash
# make demo, part 2: two nodes. alice and bob each run their own Redis and `veil worker`; a
# cluster-mode PSI is sent to both with `veil send` (as a web layer would with Celery), and the
# status events are shown as they arrive on both nodes' `task_status_events` channels.
set -euo pipefail
VEIL=$(readlink -f "${1:-build/bin/veil}")
DIR=${DEMO_DIR:-$(pwd)/build/demo}/nodes
DATA=$(readlink -f "${DEMO_DIR:-$(pwd)/build/demo}/data")
rm -rf "$DIR" && mkdir -p "$DIR"
PY=/usr/bin/python3

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

declare -A REDIS_PORT LINK_PORT
for node in alice bob; do
  REDIS_PORT[$node]=$(free_port)
  LINK_PORT[$node]=$(free_port)
  mkdir -p "$DIR/$node/redis" "$DIR/$node/out"
  redis-server --port "${REDIS_PORT[$node]}" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$DIR/$node/redis" --daemonize no > "$DIR/$node/redis.log" 2>&1 &
  PIDS+=($!)
done
for node in alice bob; do
  for _ in $(seq 100); do
    "$PY" -c "import redis,sys; redis.Redis(port=${REDIS_PORT[$node]}).ping()" 2>/dev/null && break
    sleep 0.05
  done
  cat > "$DIR/$node/node.env" <<ENV
NODE_ID=$node
NODE_IP=127.0.0.1
REDIS_URL=redis://127.0.0.1:${REDIS_PORT[$node]}/0
DATA_PATH=$DIR/..
MAX_CONCURRENT_TASKS=2
ENV
  "$VEIL" worker --env-file "$DIR/$node/node.env" > "$DIR/$node/worker.log" 2>&1 &
  PIDS+=($!)
done

# Watch both nodes' status channels and print events as they arrive.
"$PY" -u - "${REDIS_PORT[alice]}" "${REDIS_PORT[bob]}" > "$DIR/events.txt" 2>&1 <<'PY' &
import json, sys, time, redis
subs = []
for name, port in (("alice", sys.argv[1]), ("bob", sys.argv[2])):
    p = redis.Redis(port=int(port)).pubsub(ignore_subscribe_messages=True)
    p.subscribe("task_status_events")
    subs.append((name, p))
print("watching", flush=True)
terminal = 0
deadline = time.time() + 120
while terminal < 2 and time.time() < deadline:
    for name, p in subs:
        m = p.get_message(timeout=0.05)
        if not m:
            continue
        e = json.loads(m["data"])
        d = e.get("data", {})
        prog = d.get("progress")
        print(f"  [{name:5}] #{e.get('seq', ''):<3} {e['status']:<8} {d.get('stage', ''):<22} "
              f"{'' if prog is None else f'{prog:4.2f}'} {d.get('phase', '')}", flush=True)
        if e["status"] in ("SUCCESS", "FAILURE"):
            terminal += 1
PY
WATCH=$!
PIDS+=($WATCH)
until grep -q watching "$DIR/events.txt" 2>/dev/null; do sleep 0.05; done

PARTIES="{\"alice\": {\"address\": \"127.0.0.1:${LINK_PORT[alice]}\"}, \"bob\": {\"address\": \"127.0.0.1:${LINK_PORT[bob]}\"}}"
for node in alice bob; do
  cat > "$DIR/$node/psi.json" <<JSON
{
  "task_id": "demo-job", "subtask_id": "demo-psi", "execution_id": "demo-nodes-1",
  "sf_init_config": {"parties": $PARTIES, "self_party": "$node"},
  "task_config": {
    "task_type": "psi", "protocol": "KKRT_PSI_2PC",
    "keys": {"alice": ["id"], "bob": ["uid"]},
    "input_paths": {"alice": "$DATA/alice.csv", "bob": "$DATA/bob.csv"},
    "output_paths": {"alice": "$DIR/alice/out/psi.csv", "bob": "$DIR/bob/out/psi.csv"},
    "receiver": "alice", "broadcast_result": true, "sort": true
  }
}
JSON
done

echo "== two nodes: alice (redis :${REDIS_PORT[alice]}) and bob (redis :${REDIS_PORT[bob]}), one veil worker each"
echo "   sending the cluster-mode PSI to both with veil send; events as they arrive:"
"$VEIL" send --redis "redis://127.0.0.1:${REDIS_PORT[alice]}/0" "$DIR/alice/psi.json" --wait --timeout 120 > "$DIR/alice/result.json" &
SA=$!
"$VEIL" send --redis "redis://127.0.0.1:${REDIS_PORT[bob]}/0" "$DIR/bob/psi.json" --wait --timeout 120 > "$DIR/bob/result.json" &
SB=$!
tail -n +2 -f "$DIR/events.txt" &
TAIL=$!
rc=0
wait $SA || rc=$?
wait $SB || rc=$?
wait $WATCH 2>/dev/null || true
sleep 0.2
kill $TAIL 2>/dev/null || true
echo
if [ $rc -ne 0 ]; then
  echo "two-node demo failed (exit $rc); worker logs in $DIR/*/worker.log"
  exit $rc
fi
echo "== results (AsyncResult.get() values, as a Python web layer would see them)"
"$PY" - "$DIR/alice/result.json" "$DIR/bob/result.json" <<'PY'
import json, sys
for path in sys.argv[1:]:
    r = json.load(open(path))
    inner = r.get("result", r)
    res = inner.get("result", {}).get("result", inner.get("result", {}))
    print(f"  {res.get('party', '?'):<6} intersection_count {res.get('intersection_count')}, "
          f"execution {inner.get('execution_id')}")
PY
echo "   outputs: $DIR/alice/out/psi.csv, $DIR/bob/out/psi.csv"
