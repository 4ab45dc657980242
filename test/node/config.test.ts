/**
 * loadConfig is the only reader of the environment, and it fails loudly: a variable that is set but cannot be
 * parsed names itself in a ConfigError (and the HTTP entry answers 500 `misconfigured`), never silently becoming
 * its default. Absent or empty means the default.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, defaults, loadConfig } from '../../workers/shared/config';
import { app } from '../../workers/app';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('absent or empty variables keep the defaults', () => {
    const config = loadConfig({ UPLOAD_CHUNK_SIZE: '', LOG_LEVEL: '  ' });
    expect(config.uploads.chunkSize).toBe(defaults.uploads.chunkSize);
    expect(config.deployment).toEqual({ publicOrigin: null, transcoder: { kind: 'container' }, logLevel: 'info', benchRoutes: false, transcoderHoldUnits: null });
    expect(config.secrets.signingKeyId).toBeNull();
  });

  it('parses what it is given', () => {
    const config = loadConfig({
      UPLOAD_CHUNK_SIZE: String(8 * 1024 * 1024),
      TRANSCODE_AUDIO_READ_RATE: '0',
      PUBLIC_ORIGIN: 'https://media.example/',
      TRANSCODER_URL: 'http://127.0.0.1:8788/, http://127.0.0.1:8789',
      LOG_LEVEL: 'warn',
      BENCH_ROUTES: '1',
      TRANSCODER_HOLD_UNITS: '360p/0',
      X264_PRESET: 'medium',
      HEVC_PRESET: 'veryfast',
      AV1_CPU_USED: '8',
      SIGNING_KEYS: JSON.stringify({ k1: 'ZTJlLXNpZ25pbmcta2V5LW9uZS0zMi1ieXRlcy1sb25nISE' }),
      SIGNING_KEY_ID: 'k1',
    });
    expect(config.uploads.chunkSize).toBe(8 * 1024 * 1024);
    expect(config.transcoding.audioReadRate).toBe(0);
    expect(config.transcoding.x264Preset).toBe('medium');
    expect(config.transcoding.hevcPreset).toBe('veryfast');
    expect(config.transcoding.av1CpuUsed).toBe(8);
    expect(loadConfig({}).transcoding.av1CpuUsed).toBe(6);
    expect(config.deployment).toEqual({
      publicOrigin: 'https://media.example',
      transcoder: { kind: 'local', urls: ['http://127.0.0.1:8788', 'http://127.0.0.1:8789'] },
      logLevel: 'warn',
      benchRoutes: true,
      transcoderHoldUnits: '360p/0',
    });
    expect([...config.secrets.signingKeys.keys()]).toEqual(['k1']);
    expect(config.secrets.signingKeyId).toBe('k1');
  });

  it.each([
    ['UPLOAD_CHUNK_SIZE', 'ten megabytes'],
    ['UPLOAD_CHUNK_SIZE', '1024'],
    ['TRANSCODE_MAX_ATTEMPTS', '2.5'],
    ['VIEWS_SAMPLING_RATE', '3'],
    ['VIEWS_SAMPLING_ENABLED', 'yes'],
    ['SEGMENT_DURATION_SEC', '-6'],
    ['X264_PRESET', 'fastest'],
    ['HEVC_PRESET', 'very fast'],
    ['AV1_CPU_USED', '4'],
    ['AV1_CPU_USED', '9'],
    ['AV1_CPU_USED', '6.5'],
    ['LOG_LEVEL', 'verbose'],
    ['BENCH_ROUTES', 'on'],
    ['PUBLIC_ORIGIN', 'media.example'],
    ['TRANSCODER_URL', 'http://127.0.0.1:8788,ftp://x'],
    ['SIGNING_KEYS', '{"k1": '],
    ['SIGNING_KEYS', '{"k1": "c2hvcnQ"}'],
  ])('%s=%j fails loudly with the variable named', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(name);
  });

  it('names every bad variable at once, and a signing key id that names no key', () => {
    const problems = problemsOf({
      UPLOAD_CHUNK_SIZE: 'x',
      LOG_LEVEL: 'loud',
      SIGNING_KEYS: JSON.stringify({ k1: 'ZTJlLXNpZ25pbmcta2V5LW9uZS0zMi1ieXRlcy1sb25nISE' }),
      SIGNING_KEY_ID: 'k9',
    });
    expect(problems.map((p) => p.split(/[= ]/)[0]).sort()).toEqual(['LOG_LEVEL', 'SIGNING_KEY_ID', 'UPLOAD_CHUNK_SIZE']);
    // A secret's value is never echoed.
    expect(problemsOf({ SIGNING_KEYS: '{"k1": "c2VjcmV0LXNlY3JldA"}' }).join(' ')).not.toContain('c2VjcmV0LXNlY3JldA');
  });

  it('the live ladder: on by default, a backlog of 2; a bad flag or backlog is refused by name', () => {
    expect(loadConfig({}).live.ladder).toEqual({ enabled: true, maxBacklogSegments: 2 });
    expect(loadConfig({ LIVE_LADDER: 'false', LIVE_LADDER_MAX_BACKLOG: '5' }).live.ladder).toEqual({ enabled: false, maxBacklogSegments: 5 });
    const problems = problemsOf({ LIVE_LADDER: 'maybe', LIVE_LADDER_MAX_BACKLOG: '0' });
    expect(problems.map((p) => p.split(/[= ]/)[0]).sort()).toEqual(['LIVE_LADDER', 'LIVE_LADDER_MAX_BACKLOG']);
    expect(problemsOf({ LIVE_LADDER_MAX_BACKLOG: '1.5' }).map((p) => p.split(/[= ]/)[0])).toEqual(['LIVE_LADDER_MAX_BACKLOG']);
  });

  it('originals: kept by default; ORIGINAL_RETENTION_DAYS deletes them that many days after READY; junk is refused by name', () => {
    expect(loadConfig({}).originals.retentionMs).toBeNull();
    expect(loadConfig({ ORIGINAL_RETENTION_DAYS: '' }).originals.retentionMs).toBeNull();
    expect(loadConfig({ ORIGINAL_RETENTION_DAYS: '30' }).originals.retentionMs).toBe(30 * 86_400_000);
    expect(loadConfig({ ORIGINAL_RETENTION_DAYS: '0' }).originals.retentionMs).toBe(0);
    for (const bad of ['forever', '-1', '1.5', '1e9']) {
      expect(problemsOf({ ORIGINAL_RETENTION_DAYS: bad }).map((p) => p.split(/[= ]/)[0]), bad).toEqual(['ORIGINAL_RETENTION_DAYS']);
    }
  });

  it('the HTTP entry answers 500 misconfigured, naming the variable', async () => {
    const res = await app.request('/healthz', {}, { TRANSCODE_CHUNK_SEC: 'sixty' } as unknown as Env);
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('misconfigured');
    expect(body.error.message).toContain('TRANSCODE_CHUNK_SEC');
  });
});
