#!/usr/bin/env bash
# The benchmark: for each size, generates a tenure dataset with `tidemark
# gen` (cached in ${BENCH_DIR:-/tmp/tidemark-bench}/g<layout>-t<N>-e<N/5>) and measures,
# each phase as a whole process under /usr/bin/time -v (wall time and peak
# RSS):
#
#   bootstrap  export -> state -> current table, with a config beside the
#              dataset's (history: false): `tidemark snapshot --publish`, one
#              process writing the table as it loads, when the binary has
#              it, else `tidemark snapshot` then `tidemark publish`: items/s
#              and MB/s of decompressed DynamoDB JSON
#   follow     the events file applied durably: `tidemark follow` (with only
#              files configured it exits when they are applied) when the
#              binary has it, else `tidemark run` on the bootstrapped state
#              (it skips the bootstrap) minus its publish (from its log)
#   publish    tidemark publish, current + history tables: rows/s
#   verify     tidemark verify --against export:DIR: entities/s
#   peer       DuckDB (tools/duckdb/peer.mjs, as many threads as cores)
#              turning the same data files into one Parquet file; tidemark's
#              bootstrap is reported as a ratio of DuckDB's rate
#
# Each size runs RUNS times from an empty state and lake; the median of each
# figure is printed as a markdown table (machine, date, commands) for
# docs/benchmarks.md.
#
# Usage: scripts/bench.sh [-s "SIZES"] [-r RUNS] [-k]
#        scripts/bench.sh TENURES [EVENTS]      (one size, as before)
#   -s  tenures per dataset, space separated (default "100000 1000000 5000000",
#       or $BENCH_SIZES); events are a fifth of the tenures ($BENCH_EVENTS
#       overrides, for a single size)
#   -r  runs per size (default 3, or $BENCH_RUNS); the median is reported
#   -k  keep the generated datasets (default: a dataset of 5M tenures or more
#       is deleted after it is measured, as it takes ~2.5 GB on disk)
# Quick run: scripts/bench.sh -s 100000 -r 1
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${BENCH_SIZES:-"100000 1000000 5000000"}
runs=${BENCH_RUNS:-3}
keep=0
while getopts "s:r:k" opt; do
  case $opt in
  s) sizes=$OPTARG ;;
  r) runs=$OPTARG ;;
  k) keep=1 ;;
  *) sed -n '2,32p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -gt 0 ]; then
  sizes=$1
  [ $# -gt 1 ] && BENCH_EVENTS=$2
fi
root=${BENCH_DIR:-/tmp/tidemark-bench}
bin="$root/tidemark"
mkdir -p "$root"
go build -o "$bin" ./cmd/tidemark
if [ ! -d tools/duckdb/node_modules/@duckdb/node-api ]; then
  (cd tools/duckdb && npm ci --no-audit --no-fund --loglevel=error)
fi
has_follow=0
if "$bin" -h 2>&1 | grep -q '^ *tidemark follow'; then has_follow=1; fi
has_snap_publish=0
if "$bin" snapshot -h 2>&1 | grep -q -- '-publish'; then has_snap_publish=1; fi

gen_layout=2

calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
now() { date +%s.%N; }
# rss FILE: peak RSS in MiB from a /usr/bin/time -v log
rss() { awk '/Maximum resident/ { printf "%d", $NF / 1024 }' "$1"; }
# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# timed LOG CMD...: runs CMD under /usr/bin/time -v, stderr to LOG; prints seconds
timed() {
  local log=$1 t0 t1
  shift
  t0=$(now)
  if ! /usr/bin/time -v "$@" >"$log.out" 2>"$log"; then
    # verify exits 1 when it finds drift; anything else is a failure
    if ! { [ "$2" = verify ] && grep -q 'Exit status: 1' "$log"; }; then
      echo "failed: $* (see $log)" >&2
      tail -5 "$log" >&2
      exit 1
    fi
  fi
  t1=$(now)
  calc "$t1 - $t0"
}
logtime() { date -d "$(grep "msg=\"$2\"" "$1" | head -1 | sed 's/^time=\([^ ]*\).*/\1/')" +%s.%N; }

machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/{print $2}') GiB, Go $(go env GOVERSION | sed 's/^go//')"
out="$root/results.md"
{
  echo "### $(date -u '+%Y-%m-%d %H:%M UTC'): $machine"
  echo
  echo "Median of $runs run(s) each; \`scripts/bench.sh -s \"$sizes\" -r $runs\`; peak RSS of the phase's process."
  echo
  echo "| tenures | phase | work | time | rate | peak RSS |"
  echo "|---:|---|---|---:|---|---:|"
} >"$out"

for tenures in $sizes; do
  events=${BENCH_EVENTS:-$((tenures / 5))}
  # The folder names the generator's output layout: bump gen_layout when gen
  # writes different data for the same options, so that no stale dataset is
  # reused (2: the export lists items in hash order, not id order).
  data="$root/g${gen_layout}-t${tenures}-e${events}"
  cfg="$data/tidemark.yaml"
  if [ ! -f "$data/summary.json" ]; then
    echo "generating $tenures tenures and $events events into $data" >&2
    "$bin" gen --out "$data" --tenures "$tenures" --events "$events" --seed 3 --truth=false >/dev/null
  fi
  # The bootstrap's publish: the current table only.
  sed 's|^  dir: lake$|  dir: lake-current\n  history: false|' "$cfg" >"$data/current.yaml"
  grep -q 'history: false' "$data/current.yaml" || { echo "cannot derive current.yaml from $cfg" >&2; exit 1; }
  json_bytes=$(grep -o '"dataBytes": [0-9]*' "$data/summary.json" | grep -o '[0-9]*$')
  lines=$(wc -l <"$data/events/tenure-events.jsonl")
  logs="$root/logs/t$tenures"
  mkdir -p "$logs"
  declare -a T_SNAP=() T_CUR=() T_BOOT=() R_BOOT=() T_FOL=() R_FOL=() T_PUB=() R_PUB=() T_VER=() R_VER=() T_PEER=() R_PEER=()
  for run in $(seq 1 "$runs"); do
    echo "size $tenures, run $run of $runs" >&2
    rm -rf "$data/.tidemark" "$data/lake" "$data/lake-current"
    sync
    if [ "$has_snap_publish" = 1 ]; then
      t_snap=$(timed "$logs/snapshot.log" "$bin" snapshot --publish --config "$data/current.yaml")
      t_cur=0
      R_BOOT+=("$(rss "$logs/snapshot.log")")
      boot_cmd="\`tidemark snapshot --publish --config D/current.yaml\` (C with \`lake: {dir: lake-current, history: false}\`: the state and the current table in one process)"
    else
      t_snap=$(timed "$logs/snapshot.log" "$bin" snapshot --config "$cfg")
      t_cur=$(timed "$logs/current.log" "$bin" publish --config "$data/current.yaml")
      R_BOOT+=("$(( $(rss "$logs/snapshot.log") > $(rss "$logs/current.log") ? $(rss "$logs/snapshot.log") : $(rss "$logs/current.log") ))")
      boot_cmd="\`tidemark snapshot --config C\` then \`tidemark publish --config D/current.yaml\` (C with \`lake: {dir: lake-current, history: false}\`)"
    fi
    items=$(awk -F'\t' '/items loaded/ { print $2 }' "$logs/snapshot.log.out")
    T_SNAP+=("$t_snap") T_CUR+=("$t_cur") T_BOOT+=("$(calc "$t_snap + $t_cur")")

    if [ "$has_follow" = 1 ]; then
      # With only events files configured, follow applies them and exits.
      T_FOL+=("$(timed "$logs/follow.log" "$bin" follow --config "$cfg" --no-progress)")
      follow_cmd="\`tidemark follow --config C\` (the events file, then exits: no live source)"
    else
      timed "$logs/follow.log" "$bin" run --config "$cfg" -v --no-progress >/dev/null
      T_FOL+=("$(calc "$(logtime "$logs/follow.log" 'phase publish') - $(logtime "$logs/follow.log" 'phase follow')")")
      follow_cmd="\`tidemark run --config C -v\` on the bootstrapped state, from its log's 'phase follow' to 'phase publish' (RSS: the whole run)"
    fi
    R_FOL+=("$(rss "$logs/follow.log")")

    rm -rf "$data/lake" # the publish mark stays: publish writes the tables again because their files are gone
    T_PUB+=("$(timed "$logs/publish.log" "$bin" publish --config "$cfg")")
    rows=$(awk -F'\t' '/rows published/ { print $2 }' "$logs/publish.log.out")
    R_PUB+=("$(rss "$logs/publish.log")")

    T_VER+=("$(timed "$logs/verify.log" "$bin" verify --config "$cfg" --entity tenure --against "export:$data/export" \
      --report "$root/verify.jsonl" --json)")
    R_VER+=("$(rss "$logs/verify.log")")
    compared=$(grep -o '"matching": [0-9]*' "$logs/verify.log.out" | grep -o '[0-9]*$')
    newer=$(grep -o '"newer_in_copy": [0-9]*' "$logs/verify.log.out" | grep -o '[0-9]*$')

    timed "$logs/peer.log" node tools/duckdb/peer.mjs "$data/export/AWSDynamoDB/*/data/*.json.gz" "$root/peer.parquet" "$(nproc)" >/dev/null
    T_PEER+=("$(grep -o '"seconds":[0-9.]*' "$logs/peer.log.out" | grep -o '[0-9.]*$')")
    R_PEER+=("$(rss "$logs/peer.log")")
    rm -f "$root/peer.parquet"
    echo "  bootstrap ${T_BOOT[-1]} s (snapshot $t_snap + current $t_cur), follow ${T_FOL[-1]} s, publish ${T_PUB[-1]} s, verify ${T_VER[-1]} s, DuckDB ${T_PEER[-1]} s" >&2
  done
  boot=$(median "${T_BOOT[@]}") snap=$(median "${T_SNAP[@]}") cur=$(median "${T_CUR[@]}")
  fol=$(median "${T_FOL[@]}") pub=$(median "${T_PUB[@]}") ver=$(median "${T_VER[@]}") peer=$(median "${T_PEER[@]}")
  f1() { printf '%.1f s' "$1"; }
  n0() { printf "%'.0f" "$1"; }
  {
    if [ "$has_snap_publish" = 1 ]; then
      parts="state and current table in one process"
    else
      parts="snapshot $(f1 "$snap") + current table $(f1 "$cur")"
    fi
    printf '| %s | bootstrap | %s items, %s MB of JSON: %s | %s | **%s items/s, %s MB/s** | %s MiB |\n' \
      "$(n0 "$tenures")" "$(n0 "$items")" "$(n0 "$(calc "$json_bytes / 1000000")")" "$parts" "$(f1 "$boot")" \
      "$(n0 "$(calc "$items / $boot")")" "$(n0 "$(calc "$json_bytes / 1000000 / $boot")")" "$(median "${R_BOOT[@]}")"
    printf '| %s | follow | %s event lines, durable | %s | **%s events/s** | %s MiB |\n' \
      "$(n0 "$tenures")" "$(n0 "$lines")" "$(f1 "$fol")" "$(n0 "$(calc "$lines / $fol")")" "$(median "${R_FOL[@]}")"
    printf '| %s | publish | %s rows, current + history | %s | **%s rows/s** | %s MiB |\n' \
      "$(n0 "$tenures")" "$(n0 "$rows")" "$(f1 "$pub")" "$(n0 "$(calc "$rows / $pub")")" "$(median "${R_PUB[@]}")"
    printf '| %s | verify | %s entities compared, %s newer in the copy | %s | **%s entities/s** | %s MiB |\n' \
      "$(n0 "$tenures")" "$(n0 "$compared")" "$(n0 "$newer")" "$(f1 "$ver")" "$(n0 "$(calc "($compared + $newer) / $ver")")" "$(median "${R_VER[@]}")"
    printf '| %s | DuckDB peer | %s items to one Parquet file, %s threads | %s | %s items/s; tidemark bootstrap = **%.2fx** its rate | %s MiB |\n' \
      "$(n0 "$tenures")" "$(n0 "$items")" "$(nproc)" "$(f1 "$peer")" "$(n0 "$(calc "$items / $peer")")" \
      "$(calc "$peer / $boot")" "$(median "${R_PEER[@]}")"
  } >>"$out"
  if [ "$keep" = 0 ] && [ "$tenures" -ge 5000000 ]; then
    echo "removing $data (use -k to keep it)" >&2
    rm -rf "$data"
  fi
done
{
  echo
  echo "Commands (C = the dataset's tidemark.yaml, from \`tidemark gen --out D --tenures N --events N/5 --seed 3 --truth=false\`):"
  echo "bootstrap $boot_cmd;"
  echo "follow $follow_cmd; publish \`tidemark publish --config C\` (lake removed first);"
  echo "verify \`tidemark verify --config C --entity tenure --against export:D/export\`;"
  echo "peer \`node tools/duckdb/peer.mjs 'D/export/AWSDynamoDB/*/data/*.json.gz' OUT.parquet $(nproc)\`."
} >>"$out"
cat "$out"
