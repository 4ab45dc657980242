/**
 * A video's encoding settings at creation (`ladderMode`, `packaging`, `codecs`): the platform defaults, what is
 * stored and shown, and every bad input refused with a clear 400 before anything is written.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { api, newCreator } from './helpers';
import { openDb, schema } from '../../workers/shared/db';
import { loadConfig } from '../../workers/shared/config';
import { encodingSettings } from '../../workers/metadata/encoding-settings';
import { ApiError } from '../../workers/shared/errors';

async function create(body: Record<string, unknown>, path = '/v1/videos'): Promise<{ status: number; body: Record<string, unknown> }> {
  const { token } = await newCreator();
  const res = await api(path, { method: 'POST', token, json: body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const videoCount = async () => (await openDb(env.DB).select({ id: schema.videos.id }).from(schema.videos).all()).length;

describe('encoding settings at creation', () => {
  it('defaults to the platform settings: fixed ladder, MPEG-TS, H.264', async () => {
    const r = await create({ title: 'plain' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ ladderMode: 'fixed', packaging: 'ts', codecs: ['h264'], ladder: null });
  });

  it('stores per-title, CMAF and H.264 + AV1 (H.264 first whatever the order given)', async () => {
    const r = await create({ title: 'cmaf', ladderMode: 'per-title', packaging: 'cmaf', codecs: ['av1', 'h264'] });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ ladderMode: 'per-title', packaging: 'cmaf', codecs: ['h264', 'av1'] });
    const all = await create({ title: 'three', packaging: 'cmaf', codecs: ['h264', 'hevc', 'av1'] });
    expect(all.body).toMatchObject({ codecs: ['h264', 'hevc', 'av1'] });
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['an unknown ladderMode', { ladderMode: 'smart' }, /^ladderMode must be one of "fixed", "per-title"$/],
    ['an unknown packaging', { packaging: 'webm' }, /^packaging must be one of "ts", "cmaf"$/],
    ['an unknown codec', { packaging: 'cmaf', codecs: ['h264', 'vp9'] }, /^codecs\.1: codecs entries must be "h264", "hevc", "av1"$/],
    ['codecs that is not a list', { codecs: 'h264' }, /^codecs must be an array such as \["h264", "av1"\]$/],
    ['an empty codecs list', { codecs: [] }, /^codecs must list at least "h264"$/],
    ['codecs without H.264', { packaging: 'cmaf', codecs: ['av1'] }, /^codecs must include "h264"/],
    ['a codec listed twice', { packaging: 'cmaf', codecs: ['h264', 'av1', 'av1'] }, /^codecs lists av1 more than once$/],
    ['AV1 with packaging ts', { packaging: 'ts', codecs: ['h264', 'av1'] }, /^codecs "av1" need packaging "cmaf": MPEG-TS segments carry H\.264 only$/],
    ['HEVC with the default packaging (ts)', { codecs: ['h264', 'hevc'] }, /^codecs "hevc" need packaging "cmaf" \(the platform default packaging is "ts"\)/],
  ];
  for (const [what, fields, message] of bad) {
    it(`refuses ${what} with a 400 and creates nothing`, async () => {
      const before = await videoCount();
      const r = await create({ title: 'bad', ...fields });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ error: { code: 'bad_request', message: expect.stringMatching(message) } });
      expect(await videoCount()).toBe(before + 0);
      // Direct upload URLs take the same fields and refuse the same inputs.
      const direct = await create({ ...fields }, '/v1/direct_uploads');
      expect(direct.status).toBe(400);
      expect((direct.body as { error: { message: string } }).error.message).toMatch(message);
    });
  }

  it('a direct upload URL creates its video with the asked settings', async () => {
    const { token } = await newCreator();
    const res = await api('/v1/direct_uploads', { method: 'POST', token, json: { ladderMode: 'per-title', packaging: 'cmaf', codecs: ['h264', 'hevc'] } });
    expect(res.status).toBe(201);
    const { videoId } = (await res.json()) as { videoId: string };
    const video = (await (await api(`/v1/videos/${videoId}`, { token })).json()) as Record<string, unknown>;
    expect(video).toMatchObject({ ladderMode: 'per-title', packaging: 'cmaf', codecs: ['h264', 'hevc'] });
  });

  it('takes LADDER_MODE and PACKAGING as the platform defaults', () => {
    const config = loadConfig({ LADDER_MODE: 'per-title', PACKAGING: 'cmaf' });
    expect(encodingSettings({}, config)).toEqual({ ladderMode: 'per-title', packaging: 'cmaf', codecs: '["h264"]' });
    // With CMAF the default, extra codecs need nothing more.
    expect(encodingSettings({ codecs: ['h264', 'av1'] }, config).codecs).toBe('["h264","av1"]');
    expect(() => encodingSettings({ packaging: 'ts', codecs: ['h264', 'av1'] }, config)).toThrow(ApiError);
    expect(() => loadConfig({ LADDER_MODE: 'smart' })).toThrow(/LADDER_MODE="smart" is not one of fixed, per-title/);
    expect(() => loadConfig({ PACKAGING: 'mp4' })).toThrow(/PACKAGING="mp4" is not one of ts, cmaf/);
  });
});
