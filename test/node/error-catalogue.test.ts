/**
 * The error catalogue is the contract clients rely on: every code the Worker can answer is in `ERRORS`, each with
 * one status, and docs/api.md lists exactly that set with the same statuses.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../workers/shared/errors';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name) && !e.parentPath.includes(`${path.sep}client`))
    .map((e) => path.join(e.parentPath, e.name));
}

describe('error catalogue', () => {
  it('docs/api.md lists every code with its status, and nothing else', () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'api.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(ERRORS).map(([code, e]) => [code, e.status])));
  });

  it('no Worker source answers an error code outside the catalogue', () => {
    const codes = new Set(Object.keys(ERRORS));
    const seen: string[] = [];
    for (const file of sourceFiles(path.join(ROOT, 'workers'))) {
      const text = readFileSync(file, 'utf8');
      // Every way a code is written at a call site: the helpers take it as their first argument, literal bodies name it.
      for (const m of text.matchAll(/(?:apiError|errorResponse|errorAnswer|errorJson|atOffset)\('([a-z_]+)'/g)) seen.push(m[1]!);
      for (const m of text.matchAll(/code: '([a-z_]+)'/g)) seen.push(m[1]!);
      if (!file.endsWith(path.join('shared', 'errors.ts'))) expect(text, `${path.relative(ROOT, file)} builds an ApiError by hand`).not.toMatch(/new ApiError\(/);
    }
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.filter((c) => !codes.has(c))).toEqual([]);
  });
});
