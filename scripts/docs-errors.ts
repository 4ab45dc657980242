/**
 * `npm run docs:errors`: writes the error catalogue (`ERRORS` in workers/shared/errors.ts) into docs/api.md's
 * "Error codes" table, so the documented set is the answered set (test/node/error-catalogue.test.ts checks it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ERRORS } from '../workers/shared/errors';

const file = path.resolve(import.meta.dirname, '..', 'docs', 'api.md');
const rows = Object.entries(ERRORS).map(([code, e]) => `| \`${code}\` | ${e.status} | ${e.meaning} |`).join('\n');
const doc = readFileSync(file, 'utf8');
const table = /(\| code \| status \| meaning \|\n\|---\|---\|---\|\n)(?:\|.*\n)+/;
if (!table.test(doc)) throw new Error('docs/api.md has no error code table to rewrite');
writeFileSync(file, doc.replace(table, (_m, head: string) => `${head}${rows}\n`));
console.log(`docs/api.md: ${Object.keys(ERRORS).length} error codes`);
