/**
 * ViewCounter's SQLite schema, by version (see shared/do-schema.ts). Version 1 is the layout the object had before
 * it recorded a version: an object whose `meta` table exists but has no `_schema` row is at version 1.
 */
import { tableExists, type SchemaPlan } from '../../shared/do-schema';

export const counterSchema: SchemaPlan = {
  legacyVersion: (sql) => (tableExists(sql, 'meta') ? 1 : 0),
  migrations: [
    {
      name: 'dedup, pending, hll, flush_batch, outbox, sessions',
      up: (sql) =>
        sql.exec(`
          CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
          CREATE TABLE IF NOT EXISTS dedup (viewer TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
          CREATE INDEX IF NOT EXISTS dedup_expiry ON dedup (expires_at);
          CREATE TABLE IF NOT EXISTS pending (hour INTEGER PRIMARY KEY, views INTEGER NOT NULL);
          CREATE TABLE IF NOT EXISTS hll (scope INTEGER NOT NULL, idx INTEGER NOT NULL, val INTEGER NOT NULL,
            PRIMARY KEY (scope, idx)) WITHOUT ROWID;
          CREATE TABLE IF NOT EXISTS flush_batch (seq INTEGER NOT NULL, hour INTEGER NOT NULL, views INTEGER NOT NULL,
            uniques INTEGER NOT NULL, generation INTEGER NOT NULL, PRIMARY KEY (seq, hour));
          CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, created_at INTEGER NOT NULL);
          CREATE TABLE IF NOT EXISTS sessions (session TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
          CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);
        `),
    },
    {
      name: 'qoe_sessions, qoe_flush_batch',
      up: (sql) =>
        sql.exec(`
          CREATE TABLE IF NOT EXISTS qoe_sessions (session TEXT PRIMARY KEY, hour INTEGER NOT NULL, country TEXT NOT NULL,
            browser TEXT NOT NULL, os TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL, flushed TEXT,
            dirty_hour INTEGER, updates INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
          CREATE INDEX IF NOT EXISTS qoe_sessions_dirty ON qoe_sessions (dirty_hour) WHERE dirty_hour IS NOT NULL;
          CREATE INDEX IF NOT EXISTS qoe_sessions_expiry ON qoe_sessions (expires_at);
          CREATE TABLE IF NOT EXISTS qoe_flush_batch (seq INTEGER NOT NULL, hour INTEGER NOT NULL, country TEXT NOT NULL,
            browser TEXT NOT NULL, os TEXT NOT NULL, delta TEXT NOT NULL, PRIMARY KEY (seq, hour, country, browser, os)) WITHOUT ROWID;
        `),
    },
  ],
};
