/**
 * The `live_inputs` table's one writer. The stream key is a capability (like a direct upload URL): only its SHA-256
 * is stored, it is shown once at creation and at each rotation, and rotating it revokes the previous key at once.
 */
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { LiveInputStatus } from '../../schema/schema';
import { schema, type Db } from '../shared/db';
import { newId, runtime, sha256Hex } from '../shared/runtime';

export type LiveInputRow = typeof schema.liveInputs.$inferSelect;

const KEY_PREFIX = 'lsk_';
const KEY_SHAPE = /^lsk_[a-z0-9]{40}$/;

export function newStreamKey(): string {
  return `${KEY_PREFIX}${newId('x', 40).slice(2)}`;
}

export const isStreamKeyShape = (key: string) => KEY_SHAPE.test(key);
export const hashStreamKey = (key: string) => sha256Hex(key);

export async function insertLiveInput(db: Db, row: Omit<typeof schema.liveInputs.$inferInsert, 'status' | 'videoId' | 'deletedAt' | 'updatedAt'>): Promise<LiveInputRow> {
  const [inserted] = await db.insert(schema.liveInputs).values({ ...row, status: 'idle', updatedAt: row.createdAt }).returning();
  return inserted!;
}

/** A live input that is not deleted (null otherwise). */
export async function findLiveInput(db: Db, id: string): Promise<LiveInputRow | null> {
  return (await db.select().from(schema.liveInputs).where(and(eq(schema.liveInputs.id, id), isNull(schema.liveInputs.deletedAt))).get()) ?? null;
}

/** Any row, deleted or not: the ingest tells a deleted input (410) from an unknown one (404). */
export async function findLiveInputEvenDeleted(db: Db, id: string): Promise<LiveInputRow | null> {
  return (await db.select().from(schema.liveInputs).where(eq(schema.liveInputs.id, id)).get()) ?? null;
}

export async function listLiveInputs(db: Db, creatorId: string): Promise<LiveInputRow[]> {
  return db.select().from(schema.liveInputs).where(and(eq(schema.liveInputs.creatorId, creatorId), isNull(schema.liveInputs.deletedAt))).orderBy(desc(schema.liveInputs.createdAt)).limit(100).all();
}

type Editable = Partial<Pick<LiveInputRow, 'title' | 'recordingMode' | 'latency' | 'dvrWindowSeconds' | 'reconnectWindowSeconds' | 'streamKeyHash'>>;

export async function updateLiveInput(db: Db, id: string, changes: Editable): Promise<LiveInputRow | null> {
  const [row] = await db.update(schema.liveInputs).set({ ...changes, updatedAt: runtime().now() }).where(and(eq(schema.liveInputs.id, id), isNull(schema.liveInputs.deletedAt))).returning();
  return row ?? null;
}

export async function deleteLiveInput(db: Db, id: string): Promise<void> {
  const now = runtime().now();
  await db.update(schema.liveInputs).set({ deletedAt: now, updatedAt: now }).where(and(eq(schema.liveInputs.id, id), isNull(schema.liveInputs.deletedAt)));
}

/** idle ↔ live, with the recording video of the broadcast (set going live, kept after so the API shows the last one). */
export async function setLiveStatus(db: Db, id: string, status: LiveInputStatus, videoId: string | null): Promise<void> {
  await db.update(schema.liveInputs).set({ status, videoId, updatedAt: runtime().now() }).where(eq(schema.liveInputs.id, id));
}
