/**
 * `npm start`: the whole platform locally on the embedded default. Miniflare state on disk (.wrangler/state),
 * the transcoder as a local Node process, the Worker (API, playback, web pages) on http://127.0.0.1:8787.
 *
 * The transcoder is supervised (scripts/supervise.ts): if it crashes or is killed, it is started again with backoff
 * while the Worker keeps serving, and its unfinished units are taken over when their leases expire, as in
 * production when a container dies. `wrangler dev` is the platform itself: if it exits, everything stops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '../test/helpers/local-stack';
import { loadConfig } from '../workers/shared/config';
import { CRONS, fireCron, startCronTicker } from './local-cron';
import { supervise, type Supervisor } from './supervise';
import { ROOT, STATE_DIR, applyLocalMigrations, ensureDevToken, ensureDevVars } from './local-env';

const port = Number(process.env.PORT ?? 8787);
const transcoderPort = Number(process.env.TRANSCODER_PORT ?? port + 1);
const origin = `http://127.0.0.1:${port}`;

const vars = ensureDevVars();
const localVars = {
  TRANSCODER_URL: `http://127.0.0.1:${transcoderPort}`,
  PUBLIC_ORIGIN: origin,
  // Local development: webhook receivers on this machine (127.0.0.1) are allowed; production refuses them (SSRF).
  WEBHOOKS_ALLOW_PRIVATE_URLS: 'true',
};
// The Worker would refuse an unparsable variable at its first request; refuse it here, before anything starts.
try {
  loadConfig({ ...vars, ...localVars });
} catch (err) {
  console.error(`[start] ERROR: ${err instanceof Error ? err.message : String(err)} (.dev.vars); stopping`);
  process.exit(1);
}
applyLocalMigrations();
const token = ensureDevToken();

const children: ChildProcess[] = [];
let transcoder: Supervisor | null = null;
function run(name: string, cmd: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('exit', (code, signal) => {
    console.error(`[start] ${name} exited (${signal ?? code}); stopping`);
    shutdown(code ?? 1);
  });
  children.push(child);
  return child;
}

let shuttingDown = false;
function shutdown(code: number): void {
  if (shuttingDown) return;
  shuttingDown = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  void (transcoder?.stop() ?? Promise.resolve()).finally(() => setTimeout(() => process.exit(code), 500).unref());
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

const transcoderEntry = path.join(ROOT, 'containers', 'transcoder', 'src', 'server.ts');
if (existsSync(transcoderEntry)) {
  transcoder = supervise({
    command: path.join(ROOT, 'node_modules', '.bin', 'tsx'),
    args: [transcoderEntry],
    cwd: ROOT,
    env: { ...process.env, PORT: String(transcoderPort), HOST: '127.0.0.1', STORAGE_URL: `${origin}/internal/storage`, INTERNAL_TOKEN: vars.INTERNAL_TOKEN ?? '' },
    onStart: (child, n) => console.log(`[start] transcoder ${n === 1 ? 'started' : 'restarted'} (pid ${child.pid})`),
    onExit: ({ code, signal, restartInMs }) => {
      if (restartInMs !== null) console.error(`[start] transcoder exited (${signal ?? code}); restarting in ${restartInMs} ms, the platform keeps serving`);
    },
  });
}

run(
  'wrangler dev',
  path.join(ROOT, 'node_modules', '.bin', 'wrangler'),
  [
    'dev', '--port', String(port), '--ip', '127.0.0.1', '--persist-to', STATE_DIR, '--show-interactive-dev-session=false', '--test-scheduled',
    ...Object.entries(localVars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
  ],
  {},
);

console.log(`\n[start] platform: ${origin}\n[start] creator token: ${token}\n[start] transcoder: http://127.0.0.1:${transcoderPort}\n`);

/**
 * Cron triggers: wrangler dev does not fire them, so they are fired on wrangler.toml's schedule through its
 * `--test-scheduled` route (scripts/local-cron.ts): the transcode-job sweeper and trending warm-up every 5 minutes,
 * the view-counter flush backstop hourly. Both run once as soon as the Worker answers; if that fails, `npm start`
 * stops with the error rather than run a platform whose crons silently do nothing.
 */
void (async () => {
  try {
    await waitFor(`${origin}/healthz`, 180_000);
    for (const cron of CRONS) await fireCron(origin, cron.expr);
    console.log(`[start] crons ran (${CRONS.map((c) => c.expr).join(', ')}); next on their schedule`);
  } catch (err) {
    console.error(`[start] ERROR: ${err instanceof Error ? err.message : String(err)}; stopping`);
    shutdown(1);
    return;
  }
  startCronTicker(origin, (err) => console.error(`[start] ERROR: ${err.message}`));
})();
