#!/usr/bin/env bash
# Measures events applied durably per second from each live source's test
# server (kfake in process, fauxqs and DynamoDB Local on node and Java beside
# it), with the peak RSS of the benchmark process (/usr/bin/time -v; for
# Kafka it includes the in-process broker holding every record).
# Usage: scripts/bench-live.sh [EVENTS]   (default 50000 for Kafka; SQS a fifth;
# the stream benchmark is one round of 5,000 records)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50000}
out=${BENCH_DIR:-/tmp/tidemark-bench}/live
mkdir -p "$out"
run() { # name package bench count
  local name=$1 pkg=$2 bench=$3 count=$4
  go test -c -o "$out/$name.test" "$pkg"
  (cd "$pkg" && /usr/bin/time -v "$out/$name.test" -test.run '^$' -test.bench "$bench" -test.benchtime "${count}x" \
    >"$out/$name.txt" 2>"$out/$name.time")
  local rss
  rss=$(grep 'Maximum resident' "$out/$name.time" | grep -o '[0-9]*$')
  grep -h 'events/s' "$out/$name.txt" | awk -v rss="$((rss / 1024))" \
    '{ for (i = 1; i <= NF; i++) if ($i == "events/s") printf "%-40s %10.0f events/s  peak RSS %d MiB\n", $1, $(i-1), rss }'
}
printf 'machine: %s cores, %s; %s\n' "$(nproc)" "$(free -h | awk '/Mem:/{print $2}')" "$(date -u +%F)"
run kafka ./internal/source/kafka 'Kafka(JSON|Avro)$' "$n"
run sqs ./internal/source/sqs 'FollowSQS' "$((n / 5))"
run ddbstream ./internal/source/ddbstream StreamFollow 1  # one iteration = 5,000 stream records
