/**
 * `npm start`: the whole platform locally on the embedded default. Miniflare state on disk (.wrangler/state),
 * the transcoder as a local Node process, the Worker (API, playback, web pages) on http://127.0.0.1:8787.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT, STATE_DIR, applyLocalMigrations, ensureDevToken, ensureDevVars } from './local-env';

const port = Number(process.env.PORT ?? 8787);
const transcoderPort = Number(process.env.TRANSCODER_PORT ?? port + 1);
const origin = `http://127.0.0.1:${port}`;

const vars = ensureDevVars();
applyLocalMigrations();
const token = ensureDevToken();

const children: ChildProcess[] = [];
function run(name: string, cmd: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('exit', (code, signal) => {
    console.error(`[start] ${name} exited (${signal ?? code}); stopping`);
    shutdown(code ?? 1);
  });
  children.push(child);
  return child;
}

function shutdown(code: number): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

const transcoderEntry = path.join(ROOT, 'containers', 'transcoder', 'src', 'server.ts');
if (existsSync(transcoderEntry)) {
  run('transcoder', path.join(ROOT, 'node_modules', '.bin', 'tsx'), [transcoderEntry], {
    PORT: String(transcoderPort),
    HOST: '127.0.0.1',
    STORAGE_URL: `${origin}/internal/storage`,
    INTERNAL_TOKEN: vars.INTERNAL_TOKEN ?? '',
  });
}

run(
  'wrangler dev',
  path.join(ROOT, 'node_modules', '.bin', 'wrangler'),
  [
    'dev', '--port', String(port), '--ip', '127.0.0.1', '--persist-to', STATE_DIR, '--show-interactive-dev-session=false',
    '--var', `TRANSCODER_URL:http://127.0.0.1:${transcoderPort}`, '--var', `PUBLIC_ORIGIN:${origin}`,
    // Local development: webhook receivers on this machine (127.0.0.1) are allowed; production refuses them (SSRF).
    '--var', 'WEBHOOKS_ALLOW_PRIVATE_URLS:true',
  ],
  {},
);

console.log(`\n[start] platform: ${origin}\n[start] creator token: ${token}\n[start] transcoder: http://127.0.0.1:${transcoderPort}\n`);

/**
 * `wrangler dev` does not fire cron triggers by itself. Fire them on the same schedule as wrangler.toml
 * (`*\/5 * * * *`: transcode-job sweeper and trending cache warming; `0 * * * *`: view-counter flush backstop) through
 * its local scheduled-handler endpoint, so the local platform behaves like the deployed one.
 */
const CRONS: { expr: string; due: (d: Date) => boolean }[] = [
  { expr: '*/5 * * * *', due: (d) => d.getUTCMinutes() % 5 === 0 },
  { expr: '0 * * * *', due: (d) => d.getUTCMinutes() === 0 },
];
function scheduleCronTick(): void {
  const now = Date.now();
  setTimeout(async () => {
    const at = new Date();
    for (const cron of CRONS) {
      if (!cron.due(at)) continue;
      try {
        await fetch(`${origin}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron.expr)}`);
      } catch (err) {
        console.warn(`[start] cron ${cron.expr} could not be fired: ${String(err)}`);
      }
    }
    scheduleCronTick();
  }, 60_000 - (now % 60_000) + 50).unref();
}
scheduleCronTick();
