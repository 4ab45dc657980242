/**
 * Global setup of the `e2e` project (vitest.config.ts): starts the shared stack (shared-stack.ts) in the background
 * and provides where it will listen at once, so the other projects start meanwhile; tests wait for it to be up.
 * The teardown stops it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort, startStack } from './local-stack';
import { SHARED_STACK_VARS, type SharedStackInfo } from './shared-stack';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edge-video-shared-'));
  const port = await freePort();
  const info: SharedStackInfo = { origin: `http://127.0.0.1:${port}`, logFile: path.join(dir, 'stack.log'), readyFile: path.join(dir, 'ready.json') };
  writeFileSync(info.logFile, '');
  project.provide('sharedStack', info);
  const starting = startStack({ transcoder: true, vars: SHARED_STACK_VARS, port, logFile: info.logFile }).then(
    (stack) => {
      writeFileSync(info.readyFile, JSON.stringify({ ok: true }));
      return stack;
    },
    (err: unknown) => {
      writeFileSync(info.readyFile, JSON.stringify({ ok: false, error: String(err) }));
      return null;
    },
  );
  return async () => {
    await (await starting)?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
