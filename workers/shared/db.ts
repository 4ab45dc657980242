import { drizzle, type DrizzleD1Database } from 'drizzle-orm/d1';
import * as schema from '../../schema/schema';

export type Db = DrizzleD1Database<typeof schema>;

/**
 * One drizzle instance per D1 binding. Building one walks the whole schema (`extractTablesRelationalConfig`): a
 * CPU profile of the local stack under transcoding load put that at about a tenth of the Worker's CPU, spent on
 * every request and queue batch (each opens the database), for a result that depends only on the schema.
 */
const instances = new WeakMap<D1Database, Db>();

export function openDb(d1: D1Database): Db {
  let db = instances.get(d1);
  if (!db) {
    db = drizzle(d1, { schema });
    instances.set(d1, db);
  }
  return db;
}

export { schema };
