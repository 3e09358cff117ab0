// peer.mjs is the peer in tidemark's benchmark: DuckDB turning a DynamoDB
// export's data files into one Parquet file of the items, with as many
// threads as tidemark has cores:
//
//   node peer.mjs 'EXPORT/AWSDynamoDB/ID/data/*.json.gz' OUT.parquet THREADS
//
// It prints {"seconds": S, "rows": N}.
import { DuckDBInstance } from '@duckdb/node-api';

async function main() {
  const [glob, out, threads] = process.argv.slice(2);
  if (!glob || !out) {
    process.stderr.write('usage: node peer.mjs DATA_GLOB OUT.parquet [THREADS]\n');
    process.exit(2);
  }
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const q = (s) => "'" + s.replaceAll("'", "''") + "'";
  try {
    await conn.run(`SET threads = ${Number(threads) || 2}`);
    const start = process.hrtime.bigint();
    await conn.run(`COPY (SELECT Item FROM read_json(${q(glob)}, format = 'newline_delimited',
      compression = 'gzip', maximum_object_size = 16777216)) TO ${q(out)} (FORMAT parquet)`);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const reader = await conn.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet(${q(out)})`);
    const rows = Number(reader.getRowObjectsJson()[0].n);
    process.stdout.write(JSON.stringify({ seconds, rows }) + '\n');
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

main().catch((err) => {
  process.stderr.write(String(err && err.message ? err.message : err) + '\n');
  process.exit(1);
});
