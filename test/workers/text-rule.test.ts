/**
 * The text rule (workers/shared/text.ts) on every field other people see, inside workerd: video titles and
 * descriptions (create, edit, tus Upload-Metadata, direct upload URLs), clip titles and caption labels refuse
 * control characters, bidirectional controls, line separators and invisible-only titles with a 400 that names the
 * character, and store nothing; playlist attribute values cannot be cut by what a reader takes for a line break.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { api, newCreator, newVideo } from './helpers';
import { playableVideo } from './playback-fixtures';
import { b64, TUS } from './upload-helpers';
import { openDb, schema } from '../../workers/shared/db';
import { buildMasterPlaylist } from '../../workers/playback/manifest';

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = await res.json<{ error: { code: string; message: string } }>();
  return { status: res.status, ...body.error };
}

/** Strings no one-line field may hold, with what the error names. */
const BAD_LINES: [string, string, RegExp][] = [
  ['NUL', 'bad\u0000title', /control characters \(found U\+0000\)/],
  ['a right-to-left override (filename spoofing)', 'abc\u202Egnp.exe', /bidirectional control characters \(found U\+202E\)/],
  ['a right-to-left isolate', 'a\u2067b', /bidirectional control characters \(found U\+2067\)/],
  ['a first-strong isolate', 'a\u2068b', /bidirectional control characters \(found U\+2068\)/],
  ['a line separator', 'two\u2028lines', /line or paragraph separators \(found U\+2028\)/],
  ['a next-line control', 'two\u0085lines', /control characters \(found U\+0085\)/],
  ['only zero-width characters', '\u200B\u200C\u200D\u2060', /at least one visible character/],
  ['only Hangul fillers', '\u3164\u3164', /at least one visible character/],
];

const videoTitles = async (creatorId: string) =>
  (await openDb(env.DB).select({ title: schema.videos.title }).from(schema.videos).where(eq(schema.videos.creatorId, creatorId))).map((r) => r.title);

describe('video titles and descriptions', () => {
  it.each(BAD_LINES)('POST and PATCH /v1/videos refuse a title with %s', async (_what, title, message) => {
    const { token, creatorId } = await newCreator();
    expect(await errorOf(await api('/v1/videos', { method: 'POST', token, json: { title } }))).toMatchObject({ status: 400, code: 'bad_request', message: expect.stringMatching(message) });
    const { id } = await newVideo(token, 'kept');
    expect(await errorOf(await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { title } }))).toMatchObject({ status: 400, message: expect.stringMatching(message) });
    expect(await videoTitles(creatorId)).toEqual(['kept']);
  });

  it('descriptions may hold line breaks and tabs, not other controls, bidi controls or separators', async () => {
    const { token } = await newCreator();
    const ok = await api('/v1/videos', { method: 'POST', token, json: { title: 'Ok', description: 'line one\nline two\r\n\tindented' } });
    expect(ok.status).toBe(201);
    expect((await ok.json<{ description: string }>()).description).toBe('line one\nline two\r\n\tindented');
    for (const [description, message] of [
      ['nul\u0000', /U\+0000/],
      ['escape \u001b[31mred', /U\+001B/],
      ['abc\u202Egnp.exe', /U\+202E/],
      ['para\u2029graph', /U\+2029/],
    ] as const) {
      expect(await errorOf(await api('/v1/videos', { method: 'POST', token, json: { title: 'x', description } }))).toMatchObject({
        status: 400,
        message: expect.stringMatching(new RegExp(`^description must not contain .*${message.source}`)),
      });
    }
  });

  it('letters, emoji with joiners and ordinary punctuation stay accepted', async () => {
    const { token } = await newCreator();
    // Right-to-left writers need the implicit direction marks (LRM, RLM, ALM); only embeddings, overrides and isolates go.
    for (const title of ['Café — 東京 🎬', 'family 👨\u200D👩\u200D👧', 'عربي with Latin', 'שלום!\u200F', '\u200Eabc\u061C', '  padded  ']) {
      const res = await api('/v1/videos', { method: 'POST', token, json: { title } });
      expect(res.status, title).toBe(201);
      expect((await res.json<{ title: string }>()).title).toBe(title.trim());
    }
  });
});

describe('titles from tus Upload-Metadata and direct upload URLs', () => {
  it.each(BAD_LINES)('a tus creation whose title has %s is refused and creates no video', async (_what, title, message) => {
    const { token, creatorId } = await newCreator();
    const res = await api('/v1/uploads', { method: 'POST', token, headers: { ...TUS, 'Upload-Length': '10', 'Upload-Metadata': `title ${b64(title)}` } });
    expect(await errorOf(res)).toMatchObject({ status: 400, message: expect.stringMatching(message) });
    expect(await videoTitles(creatorId)).toEqual([]);
  });

  it('a tus creation whose description has a bidi control is refused and creates no video', async () => {
    const { token, creatorId } = await newCreator();
    const res = await api('/v1/uploads', {
      method: 'POST',
      token,
      headers: { ...TUS, 'Upload-Length': '10', 'Upload-Metadata': `title ${b64('fine')},description ${b64('x\u202Ey')}` },
    });
    expect(await errorOf(res)).toMatchObject({ status: 400, message: expect.stringContaining('description must not contain bidirectional') });
    expect(await videoTitles(creatorId)).toEqual([]);
  });

  it("an upload for an existing video does not judge its file name (it becomes no title)", async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token, 'named by the creator');
    const res = await api('/v1/uploads', { method: 'POST', token, headers: { ...TUS, 'Upload-Length': '10', 'Upload-Metadata': `videoId ${b64(id)},filename ${b64('abc\u202Egnp.exe')}` } });
    expect(res.status, await res.clone().text()).toBe(201);
  });

  it.each(BAD_LINES)('POST /v1/direct_uploads refuses a title with %s', async (_what, title, message) => {
    const { token, creatorId } = await newCreator();
    expect(await errorOf(await api('/v1/direct_uploads', { method: 'POST', token, json: { title } }))).toMatchObject({ status: 400, message: expect.stringMatching(message) });
    expect(await videoTitles(creatorId)).toEqual([]);
  });
});

describe('clip titles and caption labels', () => {
  it.each(BAD_LINES)('POST /v1/videos/:id/clips refuses a title with %s', async (_what, title, message) => {
    const { id, token } = await playableVideo();
    await openDb(env.DB).update(schema.videos).set({ duration: 5.5 }).where(eq(schema.videos.id, id));
    expect(await errorOf(await api(`/v1/videos/${id}/clips`, { method: 'POST', token, json: { start: 0, end: 2, title } }))).toMatchObject({
      status: 400,
      message: expect.stringMatching(message),
    });
    expect(await openDb(env.DB).select().from(schema.videos).where(eq(schema.videos.clipOf, id))).toEqual([]);
  });

  it.each([...BAD_LINES, ['a double quote', 'say "hi"', /double quotes/] as [string, string, RegExp]])(
    'PUT /v1/videos/:id/captions/:lang refuses a label with %s',
    async (_what, label, message) => {
      const { id, token } = await playableVideo();
      const res = await api(`/v1/videos/${id}/captions/en?label=${encodeURIComponent(label)}`, { method: 'PUT', token, body: 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi\n' });
      expect(await errorOf(res)).toMatchObject({ status: 400, message: expect.stringMatching(message) });
      expect(await openDb(env.DB).select().from(schema.captions).where(eq(schema.captions.videoId, id))).toEqual([]);
    },
  );
});

describe('HLS attribute values', () => {
  it('a subtitles NAME holding any line break or quote stays on its one EXT-X-MEDIA line', () => {
    const name = 'a\u2028b\u2029c\u0085d\re\nf"g\u202Eh';
    const master = buildMasterPlaylist(
      [{ name: '240p', width: 426, height: 240, bandwidth: 400_000, averageBandwidth: 350_000, codecs: 'avc1.42c015', frameRate: 30 }],
      [{ name, language: 'en', isDefault: true, uri: 'captions/en.m3u8' }],
    );
    const media = master.split('\n').filter((line) => line.startsWith('#EXT-X-MEDIA:TYPE=SUBTITLES'));
    expect(media).toHaveLength(1);
    expect(media[0]).toContain('NAME="a b c d e f g h",LANGUAGE="en"');
    // Nothing but LF separates lines, and no line holds anything a reader could split on.
    expect(master).not.toMatch(/[\r\u2028\u2029\u0085\u202E]/);
  });
});
