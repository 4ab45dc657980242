/** The upload CLI without a server: arguments, the resume state file, and the errors a creator meets first. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ArgsError, parseArgs } from '../../scripts/upload-cli/args';
import { JsonFileUrlStorage, defaultStatePath } from '../../scripts/upload-cli/url-storage';
import { ROOT, freePort } from '../helpers/local-stack';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(os.tmpdir(), 'cli-args-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseArgs', () => {
  it('reads the file and options, with env defaults', () => {
    expect(parseArgs(['clip.mp4', '--title', 'My clip', '--origin=https://v.example/x', '--no-wait'], { EDGE_VIDEO_TOKEN: 'evt_env' })).toEqual({
      file: 'clip.mp4',
      title: 'My clip',
      description: '',
      origin: 'https://v.example',
      token: 'evt_env',
      wait: false,
      statePath: null,
    });
    expect(parseArgs(['a.mp4'], {})).toMatchObject({ origin: 'http://127.0.0.1:8787', token: null, wait: true });
    expect(parseArgs(['--help'], {})).toBe('help');
  });

  it('rejects what it cannot use, saying why', () => {
    expect(() => parseArgs([], {})).toThrow(/which file/);
    expect(() => parseArgs(['a.mp4', 'b.mp4'], {})).toThrow(/one file at a time/);
    expect(() => parseArgs(['a.mp4', '--title'], {})).toThrow(/--title needs a value/);
    expect(() => parseArgs(['a.mp4', '--bogus'], {})).toThrow(/unknown option --bogus/);
    expect(() => parseArgs(['a.mp4', '--origin', 'nope'], {})).toThrow(ArgsError);
    expect(() => parseArgs(['a.mp4', '--origin', 'ftp://x'], {})).toThrow(/http/);
    expect(() => parseArgs(['a.mp4', '--title', '  '], {})).toThrow(/empty/);
  });
});

describe('JsonFileUrlStorage', () => {
  it('stores, finds by fingerprint and removes upload URLs across instances', async () => {
    const file = path.join(dir, 'nested', 'uploads.json');
    const a = new JsonFileUrlStorage(file);
    const upload = { size: 10, metadata: { videoId: 'vid_1' }, creationTime: new Date().toISOString(), urlStorageKey: '', uploadUrl: 'http://x/v1/uploads/u1', parallelUploadUrls: null };
    const key = await a.addUpload('fp-1', upload);
    await a.addUpload('fp-2', { ...upload, uploadUrl: 'http://x/v1/uploads/u2' });
    const b = new JsonFileUrlStorage(file); // a new run of the CLI
    const found = await b.findUploadsByFingerprint('fp-1');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ uploadUrl: 'http://x/v1/uploads/u1', urlStorageKey: key, metadata: { videoId: 'vid_1' } });
    await b.removeUpload(key);
    expect(await new JsonFileUrlStorage(file).findUploadsByFingerprint('fp-1')).toEqual([]);
    expect(await new JsonFileUrlStorage(file).findAllUploads()).toHaveLength(1);
  });

  it('treats a missing or corrupt state file as empty', async () => {
    const file = path.join(dir, 'corrupt.json');
    writeFileSync(file, '{not json');
    expect(await new JsonFileUrlStorage(file).findAllUploads()).toEqual([]);
    expect(defaultStatePath({ XDG_STATE_HOME: '/s' })).toBe('/s/edge-video/uploads.json');
  });
});

describe('CLI errors (no server needed)', () => {
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [path.join(ROOT, 'scripts', 'upload.ts'), ...args], {
      cwd: dir,
      env: { ...process.env, EDGE_VIDEO_TOKEN: '', EDGE_VIDEO_STATE: path.join(dir, 'state.json'), ...env },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  const video = path.join(dir, 'clip.mp4');
  writeFileSync(video, Buffer.alloc(1024, 1));

  it('a missing file', async () => {
    const r = await cli(['does-not-exist.mp4', '--token', 'evt_x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: file not found: does-not-exist.mp4');
  });

  it('a missing token', async () => {
    // 127.0.0.2 is not "this checkout's local platform", so the dev-token fallback does not apply.
    const r = await cli([video, '--origin', 'http://127.0.0.2:8787']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no API token.*--token.*EDGE_VIDEO_TOKEN.*dev:token/);
  });

  it('a server that is down', async () => {
    const port = await freePort();
    const r = await cli([video, '--origin', `http://127.0.0.1:${port}`, '--token', 'evt_x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach the platform at http://127.0.0.1:${port}`);
    expect(r.stderr).toContain('npm start');
  });

  it('usage errors exit 2 with the usage text', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: npm run upload -- <file>');
  });
});
