#!/usr/bin/env bash
# Two builds' `crm replay` on Postgres, interleaved, on fresh copies of one
# generated history: how bench/ANALYSIS.md compares a change's replay
# before and after (round eight). Prints one line a run (wall seconds, the
# machine's CPU seconds over the run from /proc/stat, crm's own CPU and
# peak RSS) and each build's means.
#
#   bash bench/replay_pairs.sh BEFORE_CRM AFTER_CRM [PAIRS]
#
# BEFORE_CRM and AFTER_CRM are two `crm` binaries (copy them out of
# target/release between builds). Sizes: REPLAY_EVENTS (1,000,000),
# REPLAY_TICKETS (events / 10). The history is loaded once into a template
# database with target/release/tgcrm-bench (TGCRM_BENCH overrides), then
# each run replays `CREATE DATABASE … TEMPLATE` of it. Databases are named
# tgcrm_pairs_* and dropped at the end. Only 127.0.0.1 is ever targeted.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 2 ]]; then
  sed -n '2,16p' "$0" >&2
  exit 2
fi
BEFORE=$1
AFTER=$2
PAIRS=${3:-3}
EVENTS=${REPLAY_EVENTS:-1000000}
TICKETS=${REPLAY_TICKETS:-$((EVENTS / 10))}
BENCH=${TGCRM_BENCH:-target/release/tgcrm-bench}
PG=postgres://postgres@127.0.0.1:5432
export PGSSLMODE=disable
for bin in "$BEFORE" "$AFTER" "$BENCH"; do
  [[ -x $bin ]] || { echo "not an executable: $bin" >&2; exit 2; }
done

psql_admin() { PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -U postgres -d postgres -qAt "$@"; }
template=tgcrm_pairs_history
copy=tgcrm_pairs_run
out=$(mktemp -d)
cleanup() {
  psql_admin -c "DROP DATABASE IF EXISTS $copy" -c "DROP DATABASE IF EXISTS $template" || true
}
trap 'cleanup; rm -rf "$out"' EXIT
cleanup
psql_admin -c "CREATE DATABASE $template"
"$BENCH" load --database-url "$PG/$template?sslmode=disable" --label pairs \
  --tickets "$TICKETS" --events "$EVENTS" --open "$((TICKETS / 10))" > /dev/null

cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
run() { # name binary
  psql_admin -c "DROP DATABASE IF EXISTS $copy" -c "CREATE DATABASE $copy TEMPLATE $template"
  psql_admin -c "CHECKPOINT"
  local c0 c1 s e
  c0=$(cpu_ticks)
  s=$(date +%s.%N)
  DATABASE_URL="$PG/$copy?sslmode=disable" /usr/bin/time -v "$2" replay > "$out/run.txt" 2>&1
  e=$(date +%s.%N)
  c1=$(cpu_ticks)
  awk -v name="$1" -v s="$s" -v e="$e" -v c0="$c0" -v c1="$c1" '
    /User time/ { u = $4 } /System time/ { y = $4 } /Maximum resident/ { r = $6 }
    END { printf "%s wall=%.1f machine_cpu=%.1f crm_cpu=%.1f rss_mb=%.0f\n",
          name, e - s, (c1 - c0) / 100, u + y, r / 1024 }' "$out/run.txt" | tee -a "$out/runs.txt"
}
for i in $(seq 1 "$PAIRS"); do
  # Alternate which goes first, so a drift of the machine falls on both.
  if (( i % 2 )); then run before "$BEFORE"; run after "$AFTER"
  else run after "$AFTER"; run before "$BEFORE"; fi
done
awk '{ split($2, w, "="); split($3, c, "="); n[$1]++; wall[$1] += w[2]; cpu[$1] += c[2] }
  END { for (k in n) printf "%s: mean wall %.1f s, mean machine CPU %.1f s over %d runs\n",
        k, wall[k] / n[k], cpu[k] / n[k], n[k] }' "$out/runs.txt"
