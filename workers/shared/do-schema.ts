/**
 * Schema versions for a SQLite-backed Durable Object (the pattern of cloudflare/agents' version row and migrations).
 *
 * Each object lists its migrations in order (index 0 brings an empty store to version 1, index 1 to version 2, …).
 * The object's version lives in one row of `_schema`; `migrateSchema` runs in the constructor's
 * `blockConcurrencyWhile`, applies every migration above the stored version in one transaction each, and records
 * the new version with it. Objects created before the version row existed are recognised by `legacyVersion` (for
 * example "its tables exist: version 1"), so their rows are kept and only the later migrations run on them.
 */

export interface SchemaMigration {
  /** What the migration does (logged when it runs on an existing object). */
  readonly name: string;
  readonly up: (sql: SqlStorage) => void;
}

export interface SchemaPlan {
  readonly migrations: readonly SchemaMigration[];
  /** The version of an object that has data but no `_schema` row (written by code that predates it); 0 when empty. */
  readonly legacyVersion: (sql: SqlStorage) => number;
}

/** Whether a table exists in this object's SQLite store. */
export function tableExists(sql: SqlStorage, name: string): boolean {
  return sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name).toArray().length > 0;
}

/** Column names of a table (empty when it does not exist). */
export function columnsOf(sql: SqlStorage, table: string): Set<string> {
  return new Set(sql.exec<{ name: string }>(`PRAGMA table_info(${table})`).toArray().map((c) => c.name));
}

/** The stored schema version, or null when the object has no `_schema` row yet. */
export function storedSchemaVersion(sql: SqlStorage): number | null {
  if (!tableExists(sql, '_schema')) return null;
  return sql.exec<{ version: number }>('SELECT version FROM _schema WHERE id = 1').toArray()[0]?.version ?? null;
}

/**
 * Brings the store up to the plan's latest version; returns the versions applied (empty when already current).
 * A store newer than the plan (code rolled back) is left alone: the migrations are additive, so older code reads it.
 */
export function migrateSchema(storage: DurableObjectStorage, plan: SchemaPlan): number[] {
  const sql = storage.sql;
  const from = storedSchemaVersion(sql) ?? plan.legacyVersion(sql);
  const applied: number[] = [];
  sql.exec('CREATE TABLE IF NOT EXISTS _schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)');
  for (let version = from + 1; version <= plan.migrations.length; version++) {
    const migration = plan.migrations[version - 1]!;
    storage.transactionSync(() => {
      migration.up(sql);
      sql.exec('INSERT OR REPLACE INTO _schema (id, version) VALUES (1, ?)', version);
    });
    applied.push(version);
  }
  if (applied.length === 0 && storedSchemaVersion(sql) === null) {
    sql.exec('INSERT OR REPLACE INTO _schema (id, version) VALUES (1, ?)', from);
  }
  return applied;
}
