// query.mjs runs one SQL query with DuckDB and prints the result as JSON:
//
//   node query.mjs "SELECT ... FROM read_parquet('...')"
//
// Output: {"columns":[{"name":...,"type":...}],"rows":[{...}]} where each
// column type is DuckDB's type text (as DESCRIBE shows it) and values are
// JSON-safe: BIGINT, HUGEINT, DECIMAL, TIMESTAMP[_TZ|_NS], DATE, BLOB as
// strings, lists as arrays, structs as objects. The session time zone is
// UTC so TIMESTAMP WITH TIME ZONE values print the same on every machine.
import { DuckDBInstance } from '@duckdb/node-api';

async function main() {
  const sql = process.argv[2];
  if (!sql) {
    process.stderr.write('usage: node query.mjs "SQL"\n');
    process.exit(2);
  }
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    const reader = await conn.runAndReadAll(sql);
    const names = reader.columnNames();
    const types = reader.columnTypes();
    const columns = names.map((name, i) => ({ name, type: types[i].toString() }));
    const rows = reader.getRowObjectsJson();
    process.stdout.write(JSON.stringify({ columns, rows }) + '\n');
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

main().catch((err) => {
  process.stderr.write(String(err && err.message ? err.message : err) + '\n');
  process.exit(1);
});
