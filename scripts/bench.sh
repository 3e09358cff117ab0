#!/usr/bin/env bash
# Measures `tidemark run` on a generated export: items/s, MB/s of
# decompressed DynamoDB JSON, events/s, publish rows/s and peak RSS; then
# the peer in the same run: DuckDB (tools/duckdb/peer.mjs) turning the same
# export's data files into Parquet with as many threads as there are cores.
# Usage: scripts/bench.sh [TENURES] [EVENTS]   (defaults 1000000 200000)
# The dataset is cached in ${BENCH_DIR:-/tmp/tidemark-bench}/<size>; each run
# starts from an empty state and lake.
set -euo pipefail
cd "$(dirname "$0")/.."
tenures=${1:-1000000}
events=${2:-200000}
root=${BENCH_DIR:-/tmp/tidemark-bench}
data="$root/t${tenures}-e${events}"
bin="$root/tidemark"
mkdir -p "$root"
go build -o "$bin" ./cmd/tidemark

if [ ! -f "$data/summary.json" ]; then
  echo "generating $tenures tenures and $events events into $data" >&2
  "$bin" gen --out "$data" --tenures "$tenures" --events "$events" --seed 3 --truth=false >/dev/null
fi
rm -rf "$data/.tidemark" "$data/lake"

log="$root/run.log"
/usr/bin/time -v "$bin" run --config "$data/tidemark.yaml" --json -v >"$root/summary.json" 2>"$log"

json_bytes=$(grep -o '"dataBytes": [0-9]*' "$data/summary.json" | grep -o '[0-9]*$')
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
ts() { grep "msg=\"$1\"" "$log" | head -1 | sed 's/^time=\([^ ]*\).*/\1/'; }
secs() { date -d "$1" +%s.%N; }
t_boot=$(secs "$(ts 'phase bootstrap')")
t_follow=$(secs "$(ts 'phase follow')")
t_pub=$(secs "$(ts 'phase publish')")
t_cur=$(secs "$(grep 'msg=published' "$log" | grep 'table=current' | head -1 | sed 's/^time=\([^ ]*\).*/\1/')")
elapsed=$(grep -o '"elapsed_ns": [0-9]*' "$root/summary.json" | grep -o '[0-9]*$')
t_end=$(calc "$t_boot + $elapsed / 1000000000")
items=$(grep -o '"items": [0-9]*' "$root/summary.json" | grep -o '[0-9]*$')
applied=$(grep -o '"events_applied": [0-9]*' "$root/summary.json" | grep -o '[0-9]*$')
rows=$(grep -o '"rows_published": [0-9]*' "$root/summary.json" | grep -o '[0-9]*$')
rss=$(grep 'Maximum resident' "$log" | grep -o '[0-9]*$')
lines=$(wc -l <"$data/events/tenure-events.jsonl")

printf 'machine: %s cores, %s; %s\n' "$(nproc)" "$(free -h | awk '/Mem:/{print $2}')" "$(date -u +%F)"
printf 'bootstrap: %d items in %.1f s = %.0f items/s, %.0f MB/s of DynamoDB JSON\n' "$items" \
  "$(calc "$t_follow - $t_boot")" "$(calc "$items / ($t_follow - $t_boot)")" \
  "$(calc "$json_bytes / 1000000 / ($t_follow - $t_boot)")"
printf 'follow: %d event lines (%d applied) in %.1f s = %.0f events/s\n' "$lines" "$applied" \
  "$(calc "$t_pub - $t_follow")" "$(calc "$lines / ($t_pub - $t_follow)")"
printf 'publish: %d rows (current + history) in %.1f s = %.0f rows/s\n' "$rows" \
  "$(calc "$t_end - $t_pub")" "$(calc "$rows / ($t_end - $t_pub)")"
printf 'total: %.1f s, peak RSS %d MiB\n' "$(calc "$elapsed / 1000000000")" "$((rss / 1024))"

# The peer: DuckDB reading the same data files and writing one Parquet file.
if [ ! -d tools/duckdb/node_modules/@duckdb/node-api ]; then
  (cd tools/duckdb && npm ci --no-audit --no-fund --loglevel=error)
fi
peer_log="$root/peer.log"
/usr/bin/time -v node tools/duckdb/peer.mjs "$data/export/AWSDynamoDB/*/data/*.json.gz" "$root/peer.parquet" "$(nproc)" \
  >"$root/peer.json" 2>"$peer_log"
peer_s=$(grep -o '"seconds":[0-9.]*' "$root/peer.json" | grep -o '[0-9.]*$')
peer_rss=$(grep 'Maximum resident' "$peer_log" | grep -o '[0-9]*$')
rm -f "$root/peer.parquet"
ours=$(calc "$t_follow - $t_boot + $t_cur - $t_pub")
printf 'peer (DuckDB, %s threads): %d items to Parquet in %.1f s = %.0f items/s, %.0f MB/s, peak RSS %d MiB\n' "$(nproc)" \
  "$items" "$peer_s" "$(calc "$items / $peer_s")" "$(calc "$json_bytes / 1000000 / $peer_s")" "$((peer_rss / 1024))"
printf 'export -> state -> current Parquet: %.1f s (bootstrap + current table) = %.2fx DuckDB rate\n' "$ours" \
  "$(calc "$peer_s / $ours")"
