/**
 * `POST /internal/bench/videos/:id/transcoded` (workers/transcoding/bench-results.ts): a video made READY from given
 * transcode results goes through the state machine, the job table and the fan-in, so what the API and playback show
 * is what a real transcode leaves; bad bodies are refused with the API's error shape and change nothing.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { markUploadCompleted } from '../../workers/metadata/video-state';
import { openDb } from '../../workers/shared/db';
import { ensureJob } from '../../workers/transcoding/jobs';
import { transcodedBody } from '../helpers/transcoded-body';
import { api, newCreator, newVideo } from './helpers';

const internal = { Authorization: `Bearer ${env.INTERNAL_TOKEN}` };
const publish = (id: string, json: unknown) => api(`/internal/bench/videos/${id}/transcoded`, { method: 'POST', headers: internal, json });

interface VideoJson {
  status: string;
  duration: number;
  width: number;
  renditions: { name: string; segmentCount: number; complete?: boolean }[];
  processing: { unit: string; status: string; attempts: number }[];
}

describe('bench results route', () => {
  it('makes an UPLOADING video READY through the platform’s own transitions, jobs and fan-in', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token, 'published');
    const res = await publish(id, transcodedBody({ width: 640, height: 360, duration: 20 }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'READY' });

    const video = (await (await api(`/v1/videos/${id}`, { token })).json()) as VideoJson;
    expect(video).toMatchObject({ status: 'READY', duration: 20, width: 640 });
    expect(video.renditions.map((r) => [r.name, r.segmentCount])).toEqual([['240p', 4], ['360p', 4]]);
    expect(video.processing.map((p) => [p.unit, p.status, p.attempts]).sort()).toEqual([
      ['audio', 'COMPLETED', 1],
      ['encode:240p@0', 'COMPLETED', 1],
      ['encode:360p@0', 'COMPLETED', 1],
      ['thumbnails', 'COMPLETED', 1],
    ]);
    // The fan-in wrote the final playlists and the master, with the audio rendition every rung references.
    const media = await (await env.MEDIA.get(`videos/${id}/360p/playlist.m3u8`))!.text();
    expect(media).toContain('#EXT-X-ENDLIST');
    expect((media.match(/#EXTINF:/g) ?? []).length).toBe(4);
    const master = await (await env.MEDIA.get(`videos/${id}/master.m3u8`))!.text();
    expect(master).toMatch(/TYPE=AUDIO/);
    expect(master).toMatch(/CODECS="avc1\.64001f,mp4a\.40\.2"/);

    // Once READY, it is not UPLOADING any more.
    const again = await publish(id, transcodedBody({ width: 640, height: 360, duration: 20 }));
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('conflict');
  });

  it('refuses bad bodies, unknown videos and a ladder that is not the planned one, changing nothing', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token, 'refused');
    const good = transcodedBody({ width: 640, height: 360, duration: 8 });
    const cases: [unknown, RegExp][] = [
      ['not json at all', /body/],
      [{ ...good, facts: { ...good.facts, duration: -1 } }, /facts\.duration/],
      [{ ...good, renditions: [] }, /renditions/],
      [{ ...good, extra: 1 }, /extra|unrecognized/i],
      [{ ...good, renditions: good.renditions.slice(0, 1) }, /not the ladder planned for 640×360 \(240p, 360p\)/],
    ];
    for (const [body, message] of cases) {
      const res = typeof body === 'string' ? await api(`/internal/bench/videos/${id}/transcoded`, { method: 'POST', headers: { ...internal, 'Content-Type': 'application/json' }, body }) : await publish(id, body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      const error = ((await res.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe('bad_request');
      expect(error.message).toMatch(message);
    }
    expect(((await (await api(`/v1/videos/${id}`, { token })).json()) as VideoJson).status).toBe('UPLOADING');
    expect((await publish('vid_nothing_here', good)).status).toBe(404);
  });

  it('finishes what a cut-off call started, but never takes over a video a real transcode is working on', async () => {
    const { token } = await newCreator();
    const db = openDb(env.DB);
    const body = transcodedBody({ width: 426, height: 240, duration: 12 });
    // Cut off after the first move: PROCESSING, no analysis.
    const { id: cut } = await newVideo(token, 'cut off');
    await markUploadCompleted(env, db, cut, { sourceSize: 0, sourceSha256: null }, async () => undefined);
    expect((await publish(cut, body)).status).toBe(200);
    // A real upload's video: PROCESSING with its analysis queued.
    const { id: real } = await newVideo(token, 'transcoding');
    await markUploadCompleted(env, db, real, { sourceSize: 10, sourceSha256: null }, async () => ensureJob(db, real, 'analyze'));
    const refused = await publish(real, body);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/PROCESSING, not UPLOADING/);
  });
});
