/**
 * `npm run architecture`: the structure figures of the Worker and the ABR module, measured from the source now
 * (scripts/architecture/analyze.ts): imports against the floors, circles, writers per table, direct queue sends,
 * raw environment reads, imports from workers/shared/ upward, abr/ → workers/ imports, raw SQL in tests and
 * benchmarks, and references to issue numbers or work rounds.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ENV_VARS } from '../../workers/shared/config';
import { abrSources, circles, directQueueSends, floorViolations, importsOf, rawEnvReads, ROOT, sharedImportsUp, tableWriters, videoStatusWriters, workerSources } from './analyze';

const workers = workerSources();
const abr = abrSources();

function filesUnder(dir: string, ext: RegExp): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && ext.test(e.name) && !e.parentPath.includes('node_modules') && !e.parentPath.includes(`web${path.sep}static`))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

const count = (files: string[], pattern: RegExp) => files.reduce((n, f) => n + (readFileSync(path.join(ROOT, f), 'utf8').match(pattern)?.length ?? 0), 0);

const writers = tableWriters(workers);
const lines: string[] = [];
lines.push(`source files: workers ${workers.length}, abr ${abr.length}`);
lines.push(`imports against the floors (sideways or upward): ${floorViolations(workers).length}`);
for (const v of floorViolations(workers)) lines.push(`  ${v.from} → ${v.to} (${v.fromArea} → ${v.toArea})`);
const loops = circles([...workers, ...abr]);
lines.push(`circles of imports between files: ${loops.length}`);
for (const c of loops) lines.push(`  ${c.join(' ⇄ ')}`);
lines.push(`imports from workers/shared/ to other areas: ${sharedImportsUp(workers).length}`);
lines.push(`imports from abr/ to workers/: ${abr.flatMap((f) => importsOf(f).filter((t) => t.startsWith('workers/'))).length}`);
lines.push('writers per table:');
for (const [table, files] of Object.entries(writers)) lines.push(`  ${table}: ${files.length} (${files.join(', ')})`);
lines.push(`writers of videos.status: ${videoStatusWriters(workers).join(', ')}`);
lines.push(`direct queue sends outside the message modules: ${directQueueSends(workers).length}`);
lines.push(`raw environment reads outside loadConfig: ${rawEnvReads(workers, ENV_VARS).length}`);
const tests = [...filesUnder('test', /\.ts$/), ...filesUnder('bench', /\.ts$/)];
lines.push(`raw SQL writes in tests and benchmarks: ${count(tests, /\b(UPDATE \w+ SET|INSERT INTO|DELETE FROM)\b/g)} (of them \`UPDATE videos SET status\`: ${count(tests, /UPDATE videos SET status/g)})`);
// A hash before a number names an issue, except after a colon, where it is a CSS colour.
const prose = [...filesUnder('.', /\.(ts|tsx|md|mjs|sh)$/)].filter((f) => !f.startsWith('.git'));
lines.push(`references to issues or work rounds: ${count(prose, /(?<![A-Za-z&%+]|:\s*)#[0-9]{1,3}\b(?![0-9a-f])|\(issue [0-9]{1,3}\)|\bround (one|two|three|four|five|six|seven|[0-9])\b|\bthis issue\b|\bthe issue\b|\bprevious submission\b/gi)}`);
console.log(lines.join('\n'));
