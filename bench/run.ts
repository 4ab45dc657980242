/**
 * `npm run bench [-- name ...]`: runs benchmarks from bench/<name>.ts. Each prints a human summary and writes
 * its JSON to bench/results/<name>.json. With no name, runs them all.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface BenchResult {
  /** Lines for people. */
  summary: string[];
  /** Everything measured, machine-readable. */
  data: Record<string, unknown>;
  /** Whether the benchmark's target was met, when it has one. */
  targetMet?: boolean;
}

const here = import.meta.dirname;
const available = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();
const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = requested.length ? requested : available;
const resultsDir = path.join(here, 'results');
mkdirSync(resultsDir, { recursive: true });

let failed = false;
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark "${name}"; available: ${available.join(', ') || '(none)'}`);
    failed = true;
    continue;
  }
  const mod = (await import(pathToFileURL(path.join(here, `${name}.bench.ts`)).href)) as { run: () => Promise<BenchResult> };
  console.log(`\n== bench ${name}`);
  const started = Date.now();
  const result = await mod.run();
  const out = { name, ranAt: new Date().toISOString(), seconds: (Date.now() - started) / 1000, targetMet: result.targetMet ?? null, ...result.data };
  writeFileSync(path.join(resultsDir, `${name}.json`), JSON.stringify(out, null, 2) + '\n');
  for (const line of result.summary) console.log(line);
  console.log(`-> bench/results/${name}.json${result.targetMet === undefined ? '' : result.targetMet ? ' (target met)' : ' (target NOT met)'}`);
}
process.exit(failed ? 1 : 0);
