/**
 * Local-environment helpers shared by `npm start` and `npm run dev:token`: secrets in .dev.vars, local D1
 * migrations, and the persistent local creator token.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');
/**
 * The local platform's Miniflare state (D1, R2, Durable Objects on disk) and, beside it, the local creator's token.
 * `EDGE_VIDEO_STATE_DIR` moves both, so a second `npm start` (test/node/start-supervision-e2e.test.ts) runs beside a
 * developer's without sharing their state.
 */
export const STATE_DIR = process.env.EDGE_VIDEO_STATE_DIR ? path.resolve(process.env.EDGE_VIDEO_STATE_DIR) : path.join(ROOT, '.wrangler', 'state');
const TOKEN_FILE = path.join(path.dirname(STATE_DIR), 'dev-token');
const DEV_VARS = path.join(ROOT, '.dev.vars');
const WRANGLER = path.join(ROOT, 'node_modules', '.bin', 'wrangler');

/** Writes .dev.vars with fresh random local secrets unless it exists. */
export function ensureDevVars(): Record<string, string> {
  if (!existsSync(DEV_VARS)) {
    const key = randomBytes(32).toString('base64url');
    writeFileSync(
      DEV_VARS,
      [
        `SIGNING_KEYS={"k1":"${key}"}`,
        'SIGNING_KEY_ID=k1',
        `INTERNAL_TOKEN=${randomBytes(24).toString('base64url')}`,
        `ADMIN_TOKEN=${randomBytes(24).toString('base64url')}`,
        '',
      ].join('\n'),
    );
  }
  const vars: Record<string, string> = {};
  for (const line of readFileSync(DEV_VARS, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]!] = m[2]!;
  }
  return vars;
}

function wrangler(args: string[]): string {
  return execFileSync(WRANGLER, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
}

export function applyLocalMigrations(): void {
  wrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', STATE_DIR]);
}

/** The local creator's token: created once, stored in .wrangler/dev-token, its hash inserted into local D1. */
export function ensureDevToken(): string {
  mkdirSync(path.dirname(TOKEN_FILE), { recursive: true });
  let token = existsSync(TOKEN_FILE) ? readFileSync(TOKEN_FILE, 'utf8').trim() : '';
  if (!/^evt_[0-9a-z]{38,}$/.test(token)) {
    const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
    token = 'evt_' + Array.from(randomBytes(40), (b) => alphabet[b & 31]).join('');
    writeFileSync(TOKEN_FILE, token + '\n', { mode: 0o600 });
  }
  const hash = createHash('sha256').update(token).digest('hex');
  const now = Date.now();
  wrangler([
    'd1', 'execute', 'DB', '--local', '--persist-to', STATE_DIR, '--command',
    `INSERT OR IGNORE INTO creators (id, name, created_at) VALUES ('cr_local', 'Local creator', ${now});` +
      ` INSERT OR IGNORE INTO api_tokens (id, creator_id, token_hash, name, created_at) VALUES ('tok_local_${hash.slice(0, 12)}', 'cr_local', '${hash}', 'dev', ${now});`,
  ]);
  return token;
}
