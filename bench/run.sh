#!/usr/bin/env bash
# Every benchmark of issue 10, on Postgres and on SQLite side by side, in one
# run; writes BENCHMARKS.md at the repository root. Sizes are environment
# variables (see bench/README.md); the defaults are the issue's full sizes.
#
#   bash bench/run.sh                                   # full run
#   BENCH_QUICK=1 bash bench/run.sh                     # ~50k events, 10 s of load
#   BENCH_BACKENDS=postgres bash bench/run.sh           # one backend
#
# Only 127.0.0.1 is ever targeted. Databases are named tgcrm_bench_* and
# dropped at the end (BENCH_KEEP=1 keeps them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
  : "${BENCH_SECONDS:=10}" "${BENCH_REPLAY_EVENTS:=50000}" "${BENCH_QUERY_TICKETS:=20000}"
  : "${BENCH_LONG_EVENTS:=1000}" "${BENCH_QUERY_ITERATIONS:=100}" "${BENCH_LONG_SAMPLES:=50}"
fi
BENCH_BACKENDS=${BENCH_BACKENDS:-"postgres sqlite"}
# Which parts to run (all by default): ceiling commands replay queries.
BENCH_STEPS=${BENCH_STEPS:-"ceiling commands replay queries"}
want() { [[ " $BENCH_STEPS " == *" $1 "* ]]; }
BENCH_CLIENTS=${BENCH_CLIENTS:-16}
BENCH_SECONDS=${BENCH_SECONDS:-30}
BENCH_WARMUP=${BENCH_WARMUP:-3}
BENCH_PROBE_FRACTION=${BENCH_PROBE_FRACTION:-0.2}
BENCH_REPLAY_EVENTS=${BENCH_REPLAY_EVENTS:-1000000}
BENCH_REPLAY_TICKETS=${BENCH_REPLAY_TICKETS:-$((BENCH_REPLAY_EVENTS / 10))}
BENCH_QUERY_TICKETS=${BENCH_QUERY_TICKETS:-1000000}
BENCH_QUERY_OPEN=${BENCH_QUERY_OPEN:-$((BENCH_QUERY_TICKETS / 10))}
BENCH_QUERY_EVENTS=${BENCH_QUERY_EVENTS:-$((BENCH_QUERY_TICKETS * 29 / 10))}
BENCH_QUERY_ITERATIONS=${BENCH_QUERY_ITERATIONS:-300}
BENCH_LONG_EVENTS=${BENCH_LONG_EVENTS:-10000}
BENCH_LONG_SAMPLES=${BENCH_LONG_SAMPLES:-200}
BENCH_PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
# Loopback needs no TLS, and Debian's Postgres offers it (ssl=on), which
# libpq and sqlx then use by default: pgbench and crm both go without it.
BENCH_PG_SSLMODE=${BENCH_PG_SSLMODE:-disable}
export PGSSLMODE=$BENCH_PG_SSLMODE
BENCH_PORT=${BENCH_PORT:-18080}
BENCH_OUT=${BENCH_OUT:-$ROOT/target/bench}
BENCH_REPORT=${BENCH_REPORT:-$ROOT/BENCHMARKS.md}
BENCH_BUILD=${BENCH_BUILD:-1}

case "$BENCH_PG" in
  postgres://*@127.0.0.1:*|postgres://*@localhost:*|postgresql://*@127.0.0.1:*|postgresql://*@localhost:*) ;;
  *) echo "BENCH_PG must name a Postgres on this machine (127.0.0.1 or localhost)" >&2; exit 2 ;;
esac

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
CRM=$TARGET_DIR/release/crm
BENCH=$TARGET_DIR/release/tgcrm-bench
mkdir -p "$BENCH_OUT"
RESULTS=$BENCH_OUT/results.jsonl
COMMANDS=$BENCH_OUT/commands.txt
: > "$RESULTS"
: > "$COMMANDS"

say() { printf '\n== %s\n' "$*" >&2; }
# Run a command, logging it (secrets travel in the environment, never in argv).
run() {
  printf '%s\n' "$*" >> "$COMMANDS"
  "$@"
}
# Run a tgcrm-bench subcommand whose stdout is a result line.
result() {
  printf '%s\n' "$*" >> "$COMMANDS"
  "$@" | tee -a "$RESULTS"
}

if [[ "$BENCH_BUILD" == 1 ]]; then
  say "building (release)"
  run cargo build --release -p tgcrm-server -p tgcrm-bench
fi

PG_ADMIN_URL="$BENCH_PG/postgres"
pg_create() { psql "$PG_ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null; }
pg_drop() { [[ "${BENCH_KEEP:-0}" == 1 ]] || psql "$PG_ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null; }
db_url() { # backend name
  case "$1" in
    postgres) echo "$BENCH_PG/tgcrm_bench_$2?sslmode=$BENCH_PG_SSLMODE" ;;
    sqlite) echo "sqlite:$BENCH_OUT/tgcrm_bench_$2.db" ;;
  esac
}
db_fresh() { # backend name
  case "$1" in
    postgres) pg_create "tgcrm_bench_$2" ;;
    sqlite) rm -f "$BENCH_OUT/tgcrm_bench_$2.db"{,-wal,-shm} ;;
  esac
}
db_drop() {
  case "$1" in
    postgres) pg_drop "tgcrm_bench_$2" ;;
    sqlite) [[ "${BENCH_KEEP:-0}" == 1 ]] || rm -f "$BENCH_OUT/tgcrm_bench_$2.db"{,-wal,-shm} ;;
  esac
}

# Tokens for workspace "bench": admin, bot (customer side), agent (bound to an agent id).
make_tokens() { # url
  export BENCH_AGENT_ID=0190f1d2-7c4e-7a8b-9c0d-1e2f3a4b5c6d
  BENCH_ADMIN_TOKEN=$(DATABASE_URL=$1 "$CRM" token create --workspace bench --role admin 2>/dev/null)
  BENCH_BOT_TOKEN=$(DATABASE_URL=$1 "$CRM" token create --workspace bench --role bot 2>/dev/null)
  BENCH_AGENT_TOKEN=$(DATABASE_URL=$1 "$CRM" token create --workspace bench --role agent --agent "$BENCH_AGENT_ID" 2>/dev/null)
  export BENCH_ADMIN_TOKEN BENCH_BOT_TOKEN BENCH_AGENT_TOKEN
}

# Assignments name a registered agent: register one through the API (the
# server must be running) and bind the agent token to it.
register_agent() { # url
  BENCH_AGENT_ID=$(curl -sf -X POST "http://127.0.0.1:$BENCH_PORT/v1/agents" \
    -H "authorization: Bearer $BENCH_ADMIN_TOKEN" -H 'content-type: application/json' \
    -d '{"name": "Bench Agent"}' | jq -r .id)
  [[ -n "$BENCH_AGENT_ID" && "$BENCH_AGENT_ID" != null ]] || { echo "could not register the bench agent" >&2; exit 1; }
  BENCH_AGENT_TOKEN=$(DATABASE_URL=$1 "$CRM" token create --workspace bench --role agent --agent "$BENCH_AGENT_ID" 2>/dev/null)
  export BENCH_AGENT_ID BENCH_AGENT_TOKEN
}

SERVE_PID=
SERVE_HWM_KB=0
start_serve() { # url log
  printf 'DATABASE_URL=%s CRM_BIND=127.0.0.1:%s CRM_RATE_LIMIT_{ADMIN,AGENT,BOT}=1000000000 RUST_LOG=warn %s serve\n' \
    "$1" "$BENCH_PORT" "$CRM" >> "$COMMANDS"
  DATABASE_URL=$1 CRM_BIND=127.0.0.1:$BENCH_PORT RUST_LOG=warn \
    CRM_RATE_LIMIT_ADMIN=1000000000 CRM_RATE_LIMIT_AGENT=1000000000 CRM_RATE_LIMIT_BOT=1000000000 \
    "$CRM" serve > "$2" 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$BENCH_PORT/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || { echo "crm serve died; see $2" >&2; tail -20 "$2" >&2; exit 1; }
    sleep 0.2
  done
  echo "crm serve did not answer /healthz" >&2
  exit 1
}
stop_serve() {
  [[ -n "$SERVE_PID" ]] || return 0
  local hwm
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVE_PID/status" 2>/dev/null || echo 0)
  (( hwm > SERVE_HWM_KB )) && SERVE_HWM_KB=$hwm
  kill -TERM "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" 2>/dev/null || true
  SERVE_PID=
}
trap 'stop_serve' EXIT

# The machine.
PG_VERSION=$(psql "$PG_ADMIN_URL" -qAtc "SHOW server_version" 2>/dev/null || echo unknown)
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$( [[ -n "$(git status --porcelain -- crates Cargo.toml 2>/dev/null)" ]] && echo ' + uncommitted changes in crates/' || true)"
"$BENCH" record --kind machine \
  --field "date=$(date -u +%Y-%m-%dT%H:%MZ)" \
  --field "commit=$COMMIT" \
  --field "cpu=$(nproc) × $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" \
  --field "memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)" \
  --field "load average at start=$(cut -d' ' -f1-3 /proc/loadavg)" \
  --field "postgres=$PG_VERSION (shared_buffers $(psql "$PG_ADMIN_URL" -qAtc 'SHOW shared_buffers'), synchronous_commit $(psql "$PG_ADMIN_URL" -qAtc 'SHOW synchronous_commit'), autovacuum $(psql "$PG_ADMIN_URL" -qAtc 'SHOW autovacuum'), sslmode $BENCH_PG_SSLMODE for pgbench and crm)" \
  --field "sqlite=$(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo bundled) (bundled by sqlx; WAL, synchronous=NORMAL)" \
  --field "clients=$BENCH_CLIENTS" \
  --field "load seconds=$BENCH_SECONDS (+ $BENCH_WARMUP s warm-up)" \
  --field "replay dataset=$BENCH_REPLAY_EVENTS events, $BENCH_REPLAY_TICKETS tickets" \
  --field "query dataset=$BENCH_QUERY_TICKETS tickets ($BENCH_QUERY_OPEN active), about $BENCH_QUERY_EVENTS events" \
  --field "long ticket=$BENCH_LONG_EVENTS events, $BENCH_LONG_SAMPLES samples" \
  >> "$RESULTS"

for backend in $BENCH_BACKENDS; do
  SERVE_HWM_KB=0

  # 1. Ceiling (Postgres): pgbench appending event rows, same client count.
  if [[ "$backend" == postgres ]] && want ceiling; then
    say "postgres: pgbench ceiling"
    db_fresh postgres pgbench
    url=$(db_url postgres pgbench)
    run env DATABASE_URL="$url" "$CRM" migrate
    run psql "$url" -qc "CREATE TABLE bench_events (LIKE events INCLUDING ALL)"
    run pgbench -n -M prepared -c "$BENCH_CLIENTS" -j 2 -T "$BENCH_SECONDS" -f bench/pgbench_append.sql "$url" \
      > "$BENCH_OUT/pgbench.txt" 2>&1
    cat "$BENCH_OUT/pgbench.txt" >&2
    tps=$(awk '/^tps = / {print $3; exit}' "$BENCH_OUT/pgbench.txt")
    lat=$(awk '/^latency average = / {print $4; exit}' "$BENCH_OUT/pgbench.txt")
    "$BENCH" record --kind pgbench --label postgres --field "tps=$tps" --field "latency_avg_ms=$lat" \
      --field "clients=$BENCH_CLIENTS" --field "seconds=$BENCH_SECONDS" | tee -a "$RESULTS"
    db_drop postgres pgbench
  fi

  # 2, 3, 6. Commands, lag, long tickets on a fresh database.
  if want commands; then
  say "$backend: commands"
  db_fresh "$backend" cmd
  url=$(db_url "$backend" cmd)
  run env DATABASE_URL="$url" "$CRM" migrate
  make_tokens "$url"
  start_serve "$url" "$BENCH_OUT/serve-$backend-cmd.log"
  register_agent "$url"
  result "$BENCH" commands --url "http://127.0.0.1:$BENCH_PORT" --label "$backend:peak" \
    --clients "$BENCH_CLIENTS" --seconds "$BENCH_SECONDS" --warmup "$BENCH_WARMUP"
  peak=$(jq -r "select(.kind==\"commands\" and .label==\"$backend:peak\") | .throughput" "$RESULTS" | tail -1)
  # BENCH_HALF_RATE fixes the rate instead, to compare two builds at one load.
  half=${BENCH_HALF_RATE:-$(awk -v p="$peak" 'BEGIN { printf "%.1f", p / 2 }')}
  say "$backend: projection lag at half of peak ($half commands/s)"
  result "$BENCH" commands --url "http://127.0.0.1:$BENCH_PORT" --label "$backend:half" \
    --clients "$BENCH_CLIENTS" --seconds "$BENCH_SECONDS" --warmup "$BENCH_WARMUP" \
    --rate "$half" --probe-fraction "$BENCH_PROBE_FRACTION"
  say "$backend: long ticket"
  result "$BENCH" long-ticket --url "http://127.0.0.1:$BENCH_PORT" --label "$backend" \
    --events "$BENCH_LONG_EVENTS" --samples "$BENCH_LONG_SAMPLES"
  stop_serve
  db_drop "$backend" cmd
  fi

  # 4. Replay of all projections over the replay dataset, against a raw ordered scan.
  if want replay; then
  say "$backend: replay dataset ($BENCH_REPLAY_EVENTS events)"
  db_fresh "$backend" replay
  url=$(db_url "$backend" replay)
  result "$BENCH" load --database-url "$url" --label "$backend:replay" \
    --tickets "$BENCH_REPLAY_TICKETS" --events "$BENCH_REPLAY_EVENTS" --open "$((BENCH_REPLAY_TICKETS / 10))"
  result "$BENCH" raw-scan --database-url "$url" --label "$backend"
  say "$backend: crm replay"
  printf 'DATABASE_URL=%s /usr/bin/time -v %s replay\n' "$url" "$CRM" >> "$COMMANDS"
  start_s=$(date +%s.%N)
  DATABASE_URL=$url /usr/bin/time -v "$CRM" replay > "$BENCH_OUT/replay-$backend.txt" 2>&1
  end_s=$(date +%s.%N)
  grep -E 'events in|Maximum resident' "$BENCH_OUT/replay-$backend.txt" >&2 || true
  events=$(jq -r "select(.kind==\"load\" and .label==\"$backend:replay\") | .tally.events" "$RESULTS" | tail -1)
  secs=$(awk -v a="$start_s" -v b="$end_s" 'BEGIN { printf "%.3f", b - a }')
  rss=$(awk '/Maximum resident set size/ {print $6}' "$BENCH_OUT/replay-$backend.txt")
  per=$(grep -E '^[a-z_]+: [0-9]+ events in' "$BENCH_OUT/replay-$backend.txt" \
    | sed -E 's/^([a-z_]+): [0-9]+ events in ([0-9.]+)s.*/\1 \2 s/' | paste -sd ',' - | sed 's/,/, /g')
  "$BENCH" record --kind replay --label "$backend" --field "events=$events" --field "seconds=$secs" \
    --field "events_per_second=$(awk -v e="$events" -v s="$secs" 'BEGIN { printf "%.0f", e / s }')" \
    --field "max_rss_kb=$rss" --field "per_projector=$per" | tee -a "$RESULTS"
  db_drop "$backend" replay
  fi

  # 5. Queries on the large dataset, after the projections are built.
  if want queries; then
  say "$backend: query dataset ($BENCH_QUERY_TICKETS tickets)"
  db_fresh "$backend" queries
  url=$(db_url "$backend" queries)
  result "$BENCH" load --database-url "$url" --label "$backend:queries" \
    --tickets "$BENCH_QUERY_TICKETS" --events "$BENCH_QUERY_EVENTS" --open "$BENCH_QUERY_OPEN"
  printf 'DATABASE_URL=%s %s replay\n' "$url" "$CRM" >> "$COMMANDS"
  start_s=$(date +%s.%N)
  DATABASE_URL=$url "$CRM" replay > "$BENCH_OUT/replay-queries-$backend.txt" 2>&1
  end_s=$(date +%s.%N)
  "$BENCH" record --kind replay_queries --label "$backend" \
    --field "seconds=$(awk -v a="$start_s" -v b="$end_s" 'BEGIN { printf "%.3f", b - a }')" >> "$RESULTS"
  if [[ "$backend" == postgres && "$(psql "$PG_ADMIN_URL" -qAtc 'SHOW autovacuum')" == off ]]; then
    # What autovacuum would have done by now: without it the replayed
    # tables keep every dead row version, and index walks step over them
    # (the SLA breach list took 550 ms to find its first row).
    run psql "$url" -qc "VACUUM (ANALYZE)"
  fi
  # The history is treated as imported: the two reactors that act on new
  # events only (assignment, webhook routing) start at its end. From the
  # start, webhook routing would take about half an hour over 5M events
  # (it handles them one by one; see ANALYSIS). Projections are all built.
  case "$backend" in
    postgres) head_sql="SELECT transaction_id::text::bigint AS t, position AS p FROM events ORDER BY transaction_id DESC, position DESC LIMIT 1"
      now_sql="now()" ;;
    sqlite) head_sql="SELECT 0 AS t, MAX(position) AS p FROM events"
      now_sql="strftime('%Y-%m-%dT%H:%M:%fZ', 'now')" ;;
  esac
  sqlq() { case "$backend" in postgres) psql "$url" -qAtc "$1" ;; sqlite) sqlite3 "${url#sqlite:}" "$1" ;; esac; }
  sqlq "INSERT INTO checkpoints (name, version, transaction_id, position, updated_at) \
    SELECT v.n, 1, h.t, h.p, $now_sql FROM (SELECT 'reactor:assignment' AS n UNION ALL SELECT 'webhook_router') AS v, ($head_sql) AS h WHERE true \
    ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id, position = excluded.position"
  make_tokens "$url"
  start_serve "$url" "$BENCH_OUT/serve-$backend-queries.log"
  start_s=$(date +%s.%N)
  run "$BENCH" wait-caught-up --database-url "$url" --min-checkpoints 8
  end_s=$(date +%s.%N)
  "$BENCH" record --kind catchup --label "$backend" \
    --field "seconds=$(awk -v a="$start_s" -v b="$end_s" 'BEGIN { printf "%.3f", b - a }')" >> "$RESULTS"
  say "$backend: queries"
  result "$BENCH" queries --url "http://127.0.0.1:$BENCH_PORT" --label "$backend" --iterations "$BENCH_QUERY_ITERATIONS"
  stop_serve
  db_drop "$backend" queries
  fi

  # 7. Memory: the highest VmHWM of the crm serve processes above.
  "$BENCH" record --kind rss --label "$backend" --field "serve_vmhwm_kb=$SERVE_HWM_KB" | tee -a "$RESULTS"
done

say "writing $BENCH_REPORT"
notes=()
[[ -f bench/ANALYSIS.md ]] && notes=(--notes bench/ANALYSIS.md)
"$BENCH" report --results "$RESULTS" --commands "$COMMANDS" "${notes[@]}" --out "$BENCH_REPORT"
