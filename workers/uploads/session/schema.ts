/**
 * UploadSession's SQLite schema, by version (see shared/do-schema.ts).
 *
 * Before the `_schema` row existed, this object recorded its version in `meta.schema_version` (versions 2 and 3),
 * and the first objects recorded none: an object with a `session` table and no version anywhere is at version 1.
 * The column additions check what is there, so a half-migrated store from older code is finished, not broken.
 */
import { columnsOf, tableExists, type SchemaPlan } from '../../shared/do-schema';

/** Columns added by version 2 (tus concatenation and deferred length). */
const V2_COLUMNS: Array<[string, string]> = [
  ['kind', "TEXT NOT NULL DEFAULT 'upload'"],
  ['length_deferred', 'INTEGER NOT NULL DEFAULT 0'],
  ['concat', 'TEXT'],
  ['bound_video_id', 'TEXT'],
];

function legacyVersion(sql: SqlStorage): number {
  if (tableExists(sql, 'meta')) {
    const row = sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0];
    if (row) return row.value;
  }
  return tableExists(sql, 'session') ? 1 : 0;
}

export const sessionSchema: SchemaPlan = {
  legacyVersion,
  migrations: [
    {
      name: 'session, parts, ended',
      up: (sql) =>
        sql.exec(`
          CREATE TABLE IF NOT EXISTS session (
            upload_id TEXT PRIMARY KEY, video_id TEXT NOT NULL, creator_id TEXT NOT NULL, protocol TEXT NOT NULL,
            state TEXT NOT NULL, object_key TEXT NOT NULL, r2_upload_id TEXT NOT NULL, file_size INTEGER NOT NULL,
            part_size INTEGER NOT NULL, sha256 TEXT, metadata TEXT, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
            tail_key TEXT, tail_size INTEGER NOT NULL DEFAULT 0, result_size INTEGER, result_sha256 TEXT);
          CREATE TABLE IF NOT EXISTS parts (part_number INTEGER PRIMARY KEY, size INTEGER NOT NULL, etag TEXT NOT NULL);
          CREATE TABLE IF NOT EXISTS ended (upload_id TEXT PRIMARY KEY, reason TEXT NOT NULL, ended_at INTEGER NOT NULL);
        `),
    },
    {
      name: 'session: kind, length_deferred, concat, bound_video_id (tus concatenation, deferred length)',
      up: (sql) => {
        const have = columnsOf(sql, 'session');
        for (const [name, type] of V2_COLUMNS) if (!have.has(name)) sql.exec(`ALTER TABLE session ADD COLUMN ${name} ${type}`);
      },
    },
    {
      name: 'ended: consumed_by (the final upload that consumed a partial)',
      up: (sql) => {
        if (!columnsOf(sql, 'ended').has('consumed_by')) sql.exec('ALTER TABLE ended ADD COLUMN consumed_by TEXT');
      },
    },
  ],
};
