/**
 * Durable Object schema versions (shared/do-schema.ts): objects written by code that kept no version row are
 * recognised, migrated without losing rows, and migrations run once.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { abortAllDurableObjects, runInDurableObject } from 'cloudflare:test';
import { columnsOf, migrateSchema, storedSchemaVersion, type SchemaPlan } from '../../workers/shared/do-schema';
import { sessionSchema } from '../../workers/uploads/session/schema';
import { counterSchema } from '../../workers/views/counter/schema';
import { shardStub } from '../../workers/views/routing';

const sessionStub = (name: string) => env.UPLOAD_SESSION.get(env.UPLOAD_SESSION.idFromName(name));

/** Drops every table of an object's store (back to an object that never ran). */
function wipe(sql: SqlStorage): void {
  const tables = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").toArray();
  for (const t of tables) sql.exec(`DROP TABLE IF EXISTS "${t.name}"`);
}

describe('schema versions', () => {
  it('a new object is created at the latest version of each plan', async () => {
    const upload = await runInDurableObject(sessionStub('schema-fresh'), (_i, state) => storedSchemaVersion(state.storage.sql));
    expect(upload).toBe(sessionSchema.migrations.length);
    const counter = await runInDurableObject(shardStub(env, 'vid_schemafresh0000', 0), (_i, state) => storedSchemaVersion(state.storage.sql));
    expect(counter).toBe(counterSchema.migrations.length);
  });

  it('an UploadSession with the first layout and no version row is v1: migrated on start, its rows kept', async () => {
    const stub = sessionStub('vid_schemalegacy000');
    const now = Date.now();
    await runInDurableObject(stub, (_i, state) => {
      const sql = state.storage.sql;
      wipe(sql);
      // The tables exactly as the first UploadSession created them (before concatenation and tombstone links).
      sql.exec(`CREATE TABLE session (
        upload_id TEXT PRIMARY KEY, video_id TEXT NOT NULL, creator_id TEXT NOT NULL, protocol TEXT NOT NULL,
        state TEXT NOT NULL, object_key TEXT NOT NULL, r2_upload_id TEXT NOT NULL, file_size INTEGER NOT NULL,
        part_size INTEGER NOT NULL, sha256 TEXT, metadata TEXT, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
        tail_key TEXT, tail_size INTEGER NOT NULL DEFAULT 0, result_size INTEGER, result_sha256 TEXT)`);
      sql.exec('CREATE TABLE parts (part_number INTEGER PRIMARY KEY, size INTEGER NOT NULL, etag TEXT NOT NULL)');
      sql.exec('CREATE TABLE ended (upload_id TEXT PRIMARY KEY, reason TEXT NOT NULL, ended_at INTEGER NOT NULL)');
      sql.exec(
        `INSERT INTO session (upload_id, video_id, creator_id, protocol, state, object_key, r2_upload_id, file_size, part_size,
           created_at, expires_at) VALUES ('vid_schemalegacy000-up_1', 'vid_schemalegacy000', 'cr_1', 'chunked', 'uploading',
           'originals/vid_schemalegacy000/original', 'r2-up-1', 30, 10, ?, ?)`,
        now,
        now + 3_600_000,
      );
      sql.exec("INSERT INTO parts (part_number, size, etag) VALUES (1, 10, 'e1'), (2, 10, 'e2')");
      sql.exec("INSERT INTO ended (upload_id, reason, ended_at) VALUES ('vid_schemalegacy000-up_0', 'replaced', ?)", now - 1000);
      expect(sessionSchema.legacyVersion(sql)).toBe(1);
    });
    await abortAllDurableObjects(); // the next request constructs the object again, over the legacy store

    const fresh = sessionStub('vid_schemalegacy000'); // a stub from before the abort stays broken
    const info = await fresh.info(null);
    expect(info).toMatchObject({
      status: 'ok',
      session: { uploadId: 'vid_schemalegacy000-up_1', kind: 'upload', lengthDeferred: false, concat: null, storedParts: [0, 1], offset: 20 },
    });
    expect(await fresh.info('vid_schemalegacy000-up_0')).toEqual({ status: 'gone', reason: 'replaced', consumedBy: null });
    const after = await runInDurableObject(fresh, (_i, state) => ({
      version: storedSchemaVersion(state.storage.sql),
      session: [...columnsOf(state.storage.sql, 'session')].filter((c) => ['kind', 'length_deferred', 'concat', 'bound_video_id'].includes(c)).sort(),
      ended: columnsOf(state.storage.sql, 'ended').has('consumed_by'),
      parts: state.storage.sql.exec('SELECT * FROM parts').toArray().length,
    }));
    expect(after).toEqual({ version: 3, session: ['bound_video_id', 'concat', 'kind', 'length_deferred'], ended: true, parts: 2 });
  });

  it('an UploadSession versioned by the older meta.schema_version row keeps that version', async () => {
    const applied = await runInDurableObject(sessionStub('schema-meta-v2'), (_i, state) => {
      const sql = state.storage.sql;
      sql.exec('DROP TABLE _schema');
      sql.exec('ALTER TABLE ended DROP COLUMN consumed_by');
      // As the previous code kept its version.
      sql.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)');
      sql.exec("INSERT INTO meta (key, value) VALUES ('schema_version', 2)");
      expect(sessionSchema.legacyVersion(sql)).toBe(2);
      return { applied: migrateSchema(state.storage, sessionSchema), consumedBy: columnsOf(sql, 'ended').has('consumed_by') };
    });
    expect(applied).toEqual({ applied: [3], consumedBy: true });
  });

  it('a ViewCounter whose tables exist without a version row is v1 and keeps its counts', async () => {
    const stub = shardStub(env, 'vid_schemalegacyvc0', 0);
    await runInDurableObject(stub, (_i, state) => {
      const sql = state.storage.sql;
      sql.exec('DROP TABLE _schema');
      sql.exec("INSERT INTO meta (key, value) VALUES ('video_id', 'vid_schemalegacyvc0'), ('shard_index', 0)");
      sql.exec('INSERT INTO pending (hour, views) VALUES (1767225600, 7), (1767229200, 5)');
      sql.exec('INSERT INTO dedup (viewer, expires_at) VALUES (?, ?)', 'v1', Date.now() + 600_000);
      expect(counterSchema.legacyVersion(sql)).toBe(1);
    });
    await abortAllDurableObjects();
    const fresh = shardStub(env, 'vid_schemalegacyvc0', 0);
    expect((await fresh.snapshot()).pendingViews).toBe(12);
    // Recognised as version 1, then brought up by the later migrations only (the QoE tables).
    const after = await runInDurableObject(fresh, (_i, state) => ({
      version: storedSchemaVersion(state.storage.sql),
      dedup: state.storage.sql.exec('SELECT viewer FROM dedup').toArray().length,
      qoe: state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'qoe_sessions'").toArray().length,
    }));
    expect(after).toEqual({ version: counterSchema.migrations.length, dedup: 1, qoe: 1 });
  });

  it('runs each migration once, in order, and records the version with it', async () => {
    const runs: string[] = [];
    const plan: SchemaPlan = {
      legacyVersion: () => 0,
      migrations: [
        { name: 'a', up: (sql) => (runs.push('a'), sql.exec('CREATE TABLE t_once (x INTEGER)')) },
        { name: 'b', up: (sql) => (runs.push('b'), sql.exec('ALTER TABLE t_once ADD COLUMN y INTEGER')) },
      ],
    };
    const result = await runInDurableObject(sessionStub('schema-once'), (_i, state) => {
      const sql = state.storage.sql;
      sql.exec('DROP TABLE _schema'); // a store this plan has never seen (its own tables are not in it)
      const first = migrateSchema(state.storage, plan);
      const second = migrateSchema(state.storage, plan);
      return { first, second, version: storedSchemaVersion(sql) };
    });
    expect(result).toEqual({ first: [1, 2], second: [], version: 2 });
    expect(runs).toEqual(['a', 'b']);
  });

  it('a failing migration leaves the store at the previous version, with nothing half applied', async () => {
    const plan: SchemaPlan = {
      legacyVersion: () => 0,
      migrations: [
        { name: 'ok', up: (sql) => sql.exec('CREATE TABLE t_fail (x INTEGER)') },
        {
          name: 'broken',
          up: (sql) => {
            sql.exec('CREATE TABLE t_fail_2 (x INTEGER)');
            throw new Error('migration bug');
          },
        },
      ],
    };
    const result = await runInDurableObject(sessionStub('schema-fail'), (_i, state) => {
      const sql = state.storage.sql;
      sql.exec('DROP TABLE _schema');
      let error = '';
      try {
        migrateSchema(state.storage, plan);
      } catch (err) {
        error = (err as Error).message;
      }
      const tables = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name LIKE 't_fail%' ORDER BY name").toArray().map((r) => r.name);
      return { error, version: storedSchemaVersion(sql), tables };
    });
    expect(result).toEqual({ error: 'migration bug', version: 1, tables: ['t_fail'] });
  });
});
