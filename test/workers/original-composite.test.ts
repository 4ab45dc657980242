/**
 * A composite original (tus concatenation: the partials' objects, in order, named by a manifest) read through the
 * transcoder's storage gateway must be indistinguishable from the same bytes stored as one object.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { deleteOriginal, headOriginal, readOriginal, writeCompositeOriginal } from '../../workers/shared/original';
import { keys } from '../../workers/shared/storage-keys';
import { api } from './helpers';

const auth = { Authorization: `Bearer ${env.INTERNAL_TOKEN}` };

/** Three parts of 4, 1 and 5 bytes: "0123" "4" "56789". Boundaries at 4 and 5. */
const PARTS = ['0123', '4', '56789'];
const TEXT = PARTS.join('');

async function composite(videoId: string, parts = PARTS): Promise<{ key: string; size: number }[]> {
  const list = parts.map((p, i) => ({ key: keys.uploadPartialData(`pt_${videoId}${i}`, 'up_0000000000000001'), size: p.length }));
  await Promise.all(list.map((p, i) => env.MEDIA.put(p.key, parts[i]!)));
  await writeCompositeOriginal(env.MEDIA, videoId, {
    version: 1,
    uploadId: `${videoId}-up_0000000000000002`,
    size: list.reduce((s, p) => s + p.size, 0),
    contentType: 'text/plain',
    parts: list,
  });
  return list;
}

const get = (videoId: string, range?: string) =>
  api(`/internal/storage/originals/${videoId}/original`, { headers: range === undefined ? auth : { ...auth, Range: range } });

describe('composite original', () => {
  it.each([
    ['no Range', undefined],
    ['inside the first part', 'bytes=1-2'],
    ['start and end in different parts', 'bytes=2-7'],
    ['across every part', 'bytes=3-6'],
    ['exactly one middle part', 'bytes=4-4'],
    ['starting exactly at a boundary', 'bytes=5-'],
    ['ending exactly before a boundary', 'bytes=0-3'],
    ['ending exactly at a boundary', 'bytes=0-4'],
    ['the whole range', 'bytes=0-9'],
    ['an end past the last byte (clamped)', 'bytes=6-100'],
    ['a suffix across parts', 'bytes=-7'],
    ['a suffix longer than the object', 'bytes=-50'],
    ['a suffix inside the last part', 'bytes=-2'],
    ['a start at the end (416)', 'bytes=10-'],
    ['a start past the end (416)', 'bytes=11-20'],
    ['an empty suffix (416)', 'bytes=-0'],
    ['a malformed header (ignored: 200)', 'bytes=5-2'],
  ])('GET with %s answers as the same bytes in one object do', async (_what, range) => {
    await composite('vid_cmp');
    await env.MEDIA.put(keys.original('vid_one'), TEXT, { httpMetadata: { contentType: 'text/plain' } });
    const [one, comp] = [await get('vid_one', range), await get('vid_cmp', range)];
    expect(comp.status).toBe(one.status);
    for (const h of ['Content-Range', 'Content-Length', 'Accept-Ranges', 'Content-Type']) expect([h, comp.headers.get(h)]).toEqual([h, one.headers.get(h)]);
    expect(await comp.text()).toBe(await one.text());
  });

  it('answers HEAD with the whole size, and the module reads the whole original', async () => {
    await composite('vid_head');
    const head = await api('/internal/storage/originals/vid_head/original', { method: 'HEAD', headers: auth });
    expect(head.status).toBe(200);
    expect(head.headers.get('Content-Length')).toBe('10');
    expect(head.headers.get('Accept-Ranges')).toBe('bytes');
    expect((await headOriginal(env.MEDIA, 'vid_head'))?.kind).toBe('composite');
    const whole = await readOriginal(env.MEDIA, 'vid_head');
    if (whole.status !== 'ok') throw new Error(whole.status);
    expect(await new Response(whole.body).text()).toBe(TEXT);
    expect((await readOriginal(env.MEDIA, 'vid_none')).status).toBe('not_found');
  });

  it('a large composite read by range crosses parts lazily and byte-identically', async () => {
    const big = Array.from({ length: 3 }, (_, i) => String.fromCharCode(97 + i).repeat(300_000 + i * 77_777));
    await composite('vid_big', big);
    const all = big.join('');
    const res = await get('vid_big', 'bytes=299990-700000');
    expect(res.status).toBe(206);
    expect(res.headers.get('Content-Range')).toBe(`bytes 299990-700000/${all.length}`);
    expect(await res.text()).toBe(all.slice(299990, 700001));
  });

  it('deleting the original deletes every part (the partials’ whole prefixes) and the manifest', async () => {
    const parts = await composite('vid_del');
    await env.MEDIA.put(keys.uploadStagedTail(`pt_vid_del0`, 'up_0000000000000001', 3), 'stray');
    expect(await deleteOriginal(env.MEDIA, 'vid_del')).toBe(5);
    for (const p of parts) expect(await env.MEDIA.head(p.key)).toBeNull();
    expect((await env.MEDIA.list({ prefix: 'uploads/pt_vid_del' })).objects).toHaveLength(0);
    expect((await env.MEDIA.list({ prefix: keys.originalPrefix('vid_del') })).objects).toHaveLength(0);
    expect((await get('vid_del')).status).toBe(404);
  });

  it('a single-object original is read and deleted as before', async () => {
    await env.MEDIA.put(keys.original('vid_single'), TEXT);
    expect((await headOriginal(env.MEDIA, 'vid_single'))?.kind).toBe('object');
    expect(await (await get('vid_single', 'bytes=2-7')).text()).toBe('234567');
    expect(await deleteOriginal(env.MEDIA, 'vid_single')).toBe(1);
    expect(await env.MEDIA.head(keys.original('vid_single'))).toBeNull();
  });
});
