/**
 * `npm run deploy:check`: every step of docs/deploy.md that can run without a Cloudflare account, in order.
 *   1. `wrangler deploy --dry-run`: the production bundle builds from wrangler.toml; its gzip size against the
 *      Workers limit; the deployed [vars] hold no loopback address and parse (the Worker's own loadConfig);
 *   2. `wrangler types --check`: worker-configuration.d.ts matches wrangler.toml (secrets are declared there, so
 *      the result does not depend on a local .dev.vars);
 *   3. `drizzle-kit check`: the migrations are consistent with each other;
 *   4. the transcoder image builds (only when a Docker engine answers; `.ci/run` starts one).
 * Exits non-zero when any step fails; prints one line per step.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ConfigError, loadConfig } from '../workers/shared/config';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'node_modules', '.bin');
const DOCKER = process.env.WRANGLER_DOCKER_BIN ?? path.join(ROOT, 'scripts', 'container', 'docker.sh');
/** Workers script size limits after compression (paid plan; the free plan allows 3 MiB). */
const LIMIT_PAID = 10 * 1024 * 1024;
const LIMIT_FREE = 3 * 1024 * 1024;

interface Step {
  name: string;
  ok: boolean;
  detail: string;
}
const steps: Step[] = [];

function run(cmd: string, args: string[], env: Record<string, string> = {}): { ok: boolean; out: string } {
  const res = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1', ...env }, maxBuffer: 64 * 1024 * 1024 });
  return { ok: res.status === 0, out: `${res.stdout ?? ''}${res.stderr ?? ''}` };
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : [full];
  });
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

function dockerEngine(): boolean {
  try {
    execFileSync(DOCKER, ['info'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const engine = dockerEngine();

// 1. Bundle. The dry run also builds the container image, so it needs a Docker engine; without one it runs on a
// copy of wrangler.toml without the [[containers]] table (step 4 then says it was skipped).
{
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'edge-video-deploy-'));
  const noContainers = path.join(ROOT, '.deploy-check.wrangler.toml');
  try {
    const args = ['deploy', '--dry-run', '--outdir', outdir];
    if (!engine) {
      const toml = readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8');
      writeFileSync(noContainers, toml.replace(/^\[\[containers\]\][\s\S]*?(?=^\[)/m, ''));
      args.push('--config', noContainers);
    }
    const res = run(path.join(BIN, 'wrangler'), args, { WRANGLER_DOCKER_BIN: DOCKER });
    if (!res.ok) {
      steps.push({ name: 'wrangler deploy --dry-run', ok: false, detail: res.out.split('\n').slice(-15).join('\n') });
    } else {
      const modules = files(outdir).filter((f) => !f.endsWith('.map') && !f.endsWith('README.md'));
      const raw = modules.reduce((a, f) => a + statSync(f).size, 0);
      const gzip = modules.reduce((a, f) => a + gzipSync(readFileSync(f), { level: 9 }).length, 0);
      const fits = gzip <= LIMIT_PAID;
      steps.push({
        name: 'wrangler deploy --dry-run',
        ok: fits,
        detail: `${modules.length} module(s), ${kib(raw)}, gzip ${kib(gzip)} of the ${kib(LIMIT_PAID)} limit (${((100 * gzip) / LIMIT_PAID).toFixed(1)}%; free plan ${kib(LIMIT_FREE)})`,
      });
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
    rmSync(noContainers, { force: true });
  }
  const toml = readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8');
  const vars = toml.split(/^\[vars\]$/m)[1]?.split(/^\[/m)[0] ?? '';
  const loopback = vars.split('\n').filter((l) => !l.trimStart().startsWith('#') && /127\.0\.0\.1|localhost/.test(l));
  steps.push({ name: 'deployed [vars]', ok: loopback.length === 0, detail: loopback.length ? `loopback addresses: ${loopback.join('; ')}` : 'no loopback address' });
  // The Worker's own parser over the deployed values: a value it would refuse at the first request fails here.
  const values = Object.fromEntries([...vars.matchAll(/^([A-Z0-9_]+)\s*=\s*"([^"]*)"\s*$/gm)].map((m) => [m[1]!, m[2]!]));
  try {
    loadConfig(values);
    steps.push({ name: 'deployed [vars] parse', ok: true, detail: `${Object.keys(values).length} variable(s) accepted by loadConfig` });
  } catch (err) {
    steps.push({ name: 'deployed [vars] parse', ok: false, detail: err instanceof ConfigError ? err.message : String(err) });
  }
}

// 2. Env types.
{
  const res = run(path.join(BIN, 'wrangler'), ['types', '--include-runtime=false', '--strict-vars=false', 'worker-configuration.d.ts', '--check']);
  steps.push({ name: 'wrangler types --check', ok: res.ok, detail: res.ok ? 'worker-configuration.d.ts is up to date' : res.out.split('\n').slice(-8).join('\n') });
}

// 3. Migrations.
{
  const res = run(path.join(BIN, 'drizzle-kit'), ['check']);
  steps.push({ name: 'drizzle-kit check', ok: res.ok, detail: res.ok ? 'migrations consistent' : res.out.split('\n').slice(-8).join('\n') });
}

// 4. Image.
{
  if (!engine) {
    steps.push({ name: 'transcoder image', ok: true, detail: 'skipped: no Docker engine answers (scripts/container/setup-docker.sh starts one)' });
  } else {
    const started = Date.now();
    const res = run(DOCKER, ['build', '-q', '-t', 'edge-video/transcoder:deploy-check', 'containers/transcoder']);
    const size = res.ok ? Number(run(DOCKER, ['image', 'inspect', '-f', '{{.Size}}', 'edge-video/transcoder:deploy-check']).out.trim()) : 0;
    steps.push({
      name: 'transcoder image',
      ok: res.ok,
      detail: res.ok ? `built in ${((Date.now() - started) / 1000).toFixed(0)} s, ${(size / 1e6).toFixed(0)} MB` : res.out.split('\n').slice(-15).join('\n'),
    });
  }
}

for (const s of steps) console.log(`${s.ok ? 'ok  ' : 'FAIL'} ${s.name}: ${s.detail}`);
const failed = steps.filter((s) => !s.ok).length;
console.log(`deploy:check ${steps.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
