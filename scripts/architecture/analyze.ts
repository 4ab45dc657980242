/**
 * Reads the Worker's source as text and measures its structure: imports between areas (folders of workers/) against
 * the floors they may import from, import circles between files, who writes each D1 table, where queue messages
 * are sent and environment variables read. `npm run architecture` prints the figures; test/node/architecture.test.ts
 * holds the rules (docs/architecture.md states them).
 *
 * It is a reading of imports and call shapes, not a compiler: it sees `import … from '…'`, `export … from '…'` and
 * `import('…')` with literal paths, and table writes written as `.insert(t)` / `.update(t)` / `.delete(t)` on a
 * drizzle table or raw SQL (`INSERT INTO t`, `UPDATE t`, `DELETE FROM t`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * Floors of workers/: an area may import from its own folder and from areas on lower floors, never from its own floor
 * or above. Floor 0 is infrastructure; the top floor is composition (the entry points and the tables that wire areas
 * together). The database schema and the transcoder's wire protocol sit below everything.
 */
export const FLOORS: Readonly<Record<string, number>> = {
  schema: -1,
  'transcoder-protocol': -1,
  shared: 0,
  lifecycle: 1,
  metering: 1,
  metadata: 2,
  views: 3,
  'signing-keys': 3,
  usage: 3,
  playback: 4,
  transcoding: 5,
  captions: 6,
  clips: 6,
  frames: 6,
  downloads: 6,
  live: 6,
  uploads: 7,
  imports: 7,
  'audio-tracks': 8,
  'direct-uploads': 8,
  webhooks: 9,
  web: 9,
  admin: 9,
  openapi: 9,
  composition: 10,
};

/** Top-level files of workers/ that wire areas together. */
const COMPOSITION_FILES = new Set(['index.ts', 'app.ts', 'queues.ts', 'scheduled.ts', 'lifecycle-hooks.ts', 'playback-extensions.ts']);

export interface SourceFile {
  path: string; // relative to ROOT, with forward slashes
  text: string;
}

function walk(dir: string, keep: (rel: string) => boolean): SourceFile[] {
  const out: SourceFile[] = [];
  for (const entry of readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.tsx?$/.test(entry.name) || entry.name.endsWith('.d.ts')) continue;
    const rel = path.relative(ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
    if (keep(rel)) out.push({ path: rel, text: readFileSync(path.join(ROOT, rel), 'utf8') });
  }
  return out;
}

/** The Worker's server-side source (the browser code under workers/web/client is bundled apart). */
export function workerSources(): SourceFile[] {
  return walk('workers', (rel) => !rel.startsWith('workers/web/client/') && !rel.startsWith('workers/web/static/'));
}

export function abrSources(): SourceFile[] {
  return walk('abr', () => true);
}

/** The area of a file: its folder under workers/, `composition` for the wiring files, or a floor-(-1) module. */
export function areaOf(file: string): string | null {
  if (file.startsWith('schema/')) return 'schema';
  if (/^containers\/transcoder\/src\/(protocol|media-protocol|live-protocol)\.ts$/.test(file)) return 'transcoder-protocol';
  const m = /^workers\/([^/]+)(\/|$)/.exec(file);
  if (!m) return null;
  const first = m[1]!;
  if (m[2] === '/') return first;
  if (COMPOSITION_FILES.has(first)) return 'composition';
  if (first === 'lifecycle.ts') return 'lifecycle';
  return `workers/${first}`;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;

/** Relative imports of `file`, resolved to repository paths (type-only imports included: they are dependencies too). */
export function importsOf(file: SourceFile): string[] {
  const out: string[] = [];
  for (const m of file.text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec || !spec.startsWith('.')) continue;
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(file.path), spec));
    out.push(resolve(base));
  }
  return out;
}

const existing = new Map<string, boolean>();
function exists(rel: string): boolean {
  if (!existing.has(rel)) {
    try {
      readFileSync(path.join(ROOT, rel));
      existing.set(rel, true);
    } catch {
      existing.set(rel, false);
    }
  }
  return existing.get(rel)!;
}

function resolve(base: string): string {
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`]) if (/\.tsx?$/.test(candidate) && exists(candidate)) return candidate;
  return base;
}

export interface FloorViolation {
  from: string;
  to: string;
  fromArea: string;
  toArea: string;
}

/** Imports that reach an area on the same or a higher floor (a sideways or upward arrow). */
export function floorViolations(files: SourceFile[]): FloorViolation[] {
  const out: FloorViolation[] = [];
  for (const file of files) {
    const fromArea = areaOf(file.path);
    if (!fromArea || !(fromArea in FLOORS)) continue;
    for (const to of importsOf(file)) {
      const toArea = areaOf(to);
      if (!toArea || toArea === fromArea) continue;
      if (!(toArea in FLOORS) || FLOORS[toArea]! >= FLOORS[fromArea]!) out.push({ from: file.path, to, fromArea, toArea });
    }
  }
  return out;
}

/** Circles of imports between files (strongly connected components of more than one file), each sorted. */
export function circles(files: SourceFile[]): string[][] {
  const graph = new Map(files.map((f) => [f.path, importsOf(f).filter((t) => files.some((g) => g.path === t))]));
  let index = 0;
  const stack: string[] = [];
  const on = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const connect = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) connect(v);
  return found;
}

/** drizzle table names (property of `schema`) to SQL table names, read from schema/schema.ts. */
function tableNames(): Map<string, string> {
  const schema = readFileSync(path.join(ROOT, 'schema', 'schema.ts'), 'utf8');
  return new Map([...schema.matchAll(/export const (\w+) = sqliteTable\(\s*'(\w+)'/g)].map((m) => [m[1]!, m[2]!]));
}

/** For each D1 table, the files that write it (insert, update or delete), sorted. */
export function tableWriters(files: SourceFile[]): Record<string, string[]> {
  const names = tableNames();
  const writers: Record<string, Set<string>> = {};
  const add = (table: string, file: string) => (writers[table] ??= new Set()).add(file);
  for (const file of files) {
    const aliases = new Map<string, string>();
    for (const m of file.text.matchAll(/const (\w+) = schema\.(\w+);/g)) aliases.set(m[1]!, m[2]!);
    for (const m of file.text.matchAll(/\.(insert|update|delete)\(\s*(schema\.)?(\w+)\s*\)/g)) {
      const drizzle = m[2] ? m[3]! : aliases.get(m[3]!);
      const table = drizzle ? names.get(drizzle) : undefined;
      if (table) add(table, file.path);
    }
    for (const m of file.text.matchAll(/\b(?:INSERT INTO|UPDATE|DELETE FROM)\s+([a-z_]+)\b/g)) {
      if ([...names.values()].includes(m[1]!)) add(m[1]!, file.path);
    }
  }
  const sorted = Object.keys(writers).sort();
  return Object.fromEntries(sorted.map((t) => [t, [...writers[t]!].sort()]));
}

/** Files that write `videos.status` (a `status:` in a `.set(…)` on the videos table, or raw SQL setting it). */
export function videoStatusWriters(files: SourceFile[]): string[] {
  return files
    .filter((f) => /\.update\(\s*schema\.videos\s*\)\s*\.set\(\{[^)]*\bstatus\b/s.test(f.text) || /UPDATE videos SET[^'`"]*\bstatus\s*=/.test(f.text))
    .map((f) => f.path);
}

/** `.send(` / `.sendBatch(` calls outside the modules that own a queue's messages. */
export function directQueueSends(files: SourceFile[]): string[] {
  const owners = /\/(messages|analytics)\.ts$/;
  const out: string[] = [];
  for (const f of files) {
    if (owners.test(f.path)) continue;
    for (const line of f.text.split('\n')) if (/\.(send|sendBatch)\(/.test(line) && !/^\s*(\*|\/\/)/.test(line)) out.push(`${f.path}: ${line.trim()}`);
  }
  return out;
}

/** Reads of environment variables (`env.NAME` for a name loadConfig reads) outside workers/shared/config.ts. */
export function rawEnvReads(files: SourceFile[], names: readonly string[]): string[] {
  const out: string[] = [];
  const pattern = new RegExp(`\\benv\\.(${names.join('|')})\\b`, 'g');
  for (const f of files) {
    if (f.path === 'workers/shared/config.ts') continue;
    for (const m of f.text.matchAll(pattern)) out.push(`${f.path}: env.${m[1]}`);
  }
  return out;
}

/** Imports from workers/shared/ to any other area. */
export function sharedImportsUp(files: SourceFile[]): string[] {
  return files
    .filter((f) => f.path.startsWith('workers/shared/'))
    .flatMap((f) => importsOf(f).filter((t) => !t.startsWith('workers/shared/') && FLOORS[areaOf(t) ?? ''] !== -1).map((t) => `${f.path} → ${t}`));
}
