#!/usr/bin/env bash
# Runs every test of tidemark. On a fresh machine it first installs the
# test-only tools it needs from the npm registry (DuckDB's Node.js package,
# the independent Parquet reader, dynalite, a local DynamoDB server,
# DynamoDB Local for the Streams tests (with Java 17 from apt if missing) and
# fauxqs, a local SQS/SNS server).
# Usage: scripts/test.sh [go test flags]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d tools/duckdb/node_modules/@duckdb/node-api ]; then
  echo "installing test tools (tools/duckdb: npm ci)" >&2
  (cd tools/duckdb && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ ! -d tools/dynalite/node_modules/dynalite ]; then
  echo "installing test tools (tools/dynalite: npm ci)" >&2
  (cd tools/dynalite && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ ! -f tools/ddblocal/node_modules/amplify-dynamodb-simulator/emulator/DynamoDBLocal.jar ]; then
  echo "installing test tools (tools/ddblocal: npm ci)" >&2
  (cd tools/ddblocal && npm ci --no-audit --no-fund --loglevel=error)
fi
if ! command -v java >/dev/null; then
  # DynamoDB Local (the DynamoDB Streams tests) runs on Java 17.
  echo "installing Java 17 (openjdk-17-jre-headless) for DynamoDB Local" >&2
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
if [ ! -d tools/fauxqs/node_modules/fauxqs ]; then
  echo "installing test tools (tools/fauxqs: npm ci)" >&2
  (cd tools/fauxqs && npm ci --no-audit --no-fund --loglevel=error)
fi

go vet ./...
go test -count=1 -timeout 40m "$@" ./...
