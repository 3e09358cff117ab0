// Package lake publishes entities as Parquet files in the data lake's Hive
// layout, the form analysts query with Athena, Spark or DuckDB:
//
//	<Dir>/<Entity>/<Kind>/import_year=YYYY/import_month=MM/import_day=DD/import_date=YYYYMMDD/part-00000.parquet
//
// # Passes and memory
//
// Publish reads the rows twice through a Scanner. The first pass gathers,
// per attribute path, the count of each DynamoDB kind and what the column
// type depends on (infer.go); the schema is built from that (schema.go). The
// second pass shreds each row into a parquet row (shred.go) and streams it
// to the writer, which flushes a row group every RowGroupRows rows; a new
// file starts every FileRows rows (files.go). Memory is bounded by one row
// group and the number of distinct attribute paths, never by the table.
//
// # Columns
//
// Metadata first (_key, _version, _op, _event_id, _event_type, _event_time,
// _source, _ingested_at; history adds valid_from, valid_to), then one
// optional column per top-level attribute seen in any row, sorted by
// attribute name, then _leftovers, then the partition columns import_year,
// import_month, import_day, import_date (strings), import_datetime
// (timestamp) and import_timestamp (epoch seconds as a string). _key, _op,
// _source and the partition columns are required; "" and the zero time are
// NULL elsewhere.
//
// # Types
//
// At each path the kind with the most values (NULL not counted; ties: S, N,
// BOOL, M, L, B, SS, NS, BS) gives the type:
//
//   - S: timestamp when every non-empty value is a date-time (2021-03-04,
//     1985-01-01T00:00:00, 2021-03-04T00:00:00.0000000Z, ±hh:mm offsets; no
//     zone means UTC) and at least one is; "" is NULL there. Else string.
//   - N: int64 when every value is an integer that fits; else decimal with
//     scale = the most fractional digits seen (after any exponent), stored
//     as decimal(18,s) on INT64 when integer digits + scale <= 18, else
//     decimal(38,s) on FIXED_LEN_BYTE_ARRAY(16); double when the scale is
//     over 18 or the digits over 38.
//   - BOOL: boolean. B: binary. NULL only: string (all NULL).
//   - M: struct of the union of keys seen, each typed by these rules; a map
//     that never had a key is a string of plain JSON ("{}"), as parquet has
//     no empty groups.
//   - L: list (3-level LIST, optional elements) of the type inferred over
//     all elements. SS: list<string>, NS: list<number type>, BS:
//     list<binary>.
//
// Timestamps are TIMESTAMP(MICROS, isAdjustedToUTC=true), or NANOS when a
// value carries digits below the microsecond (.NET's 7th digit) and all
// values fit nanoseconds (1677-2262); a string column whose values need
// nanoseconds but do not fit them stays a string, so no digit is lost.
// _ingested_at and import_datetime are tidemark's clock and are truncated
// to microseconds.
//
// # Leftovers
//
// No value is dropped silently. A value of another kind than its column's
// (or one that does not fit, e.g. a scan pass that saw different data) is
// written as NULL and kept in _leftovers, a JSON object from the value's
// path (charges.rent, householdMembers[2], hh[0].dob) to the value as plain
// JSON. Result.Leftovers counts them; _leftovers is NULL when a row has none.
//
// # Names
//
// Column and field names keep the attribute's case, with characters other
// than ASCII letters, digits and '_' replaced by '_'. Names that collide
// without regard to case (Athena folds case), or with a metadata, leftover
// or partition column, get "__2", "__3", ...: the attribute with the most
// values keeps the plain name, ties by byte order.
//
// # Atomicity
//
// Every part is written to a hidden temp file (.tmp-part-NNNNN.parquet-*)
// in the partition folder and fsynced; only when the whole table is written
// are the parts renamed into place, the folder fsynced, and the folder's
// other part-*.parquet files (an earlier publish of the same day) removed.
// A failed or cancelled publish removes its temp files and leaves the
// previous files as they were. Other days' folders are kept: analysts filter
// to the latest import_date. One publisher per entity and kind at a time.
package lake
