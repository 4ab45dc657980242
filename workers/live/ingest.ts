/**
 * HTTP ingest: what `ffmpeg -f hls -method PUT {ingest url}/index.m3u8` sends, accepted as it is sent.
 *
 *   PUT /live/{inputId}/{streamKey}/{name}.ts     a segment (chunked, streamed while ffmpeg writes it)
 *   PUT /live/{inputId}/{streamKey}/{name}.m3u8   the media playlist, after each segment
 *
 * Checked in this order, each before any byte of the body is read or stored: the path's shape (404), the input
 * (404 unknown, 410 deleted), the key (401 malformed, 403 wrong or rotated). Then the body, read whole up to
 * `live.maxSegmentBytes` (413 past it), must be MPEG-TS with H.264 (415 `not_media`). The LiveInput object orders
 * what remains (409 `out_of_order`; a repeated segment is a 200 that changes nothing).
 */
import { Hono, type Context } from 'hono';
import { apiError, forbidden, gone, notFound, unauthorized } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';
import { readCappedBody } from '../shared/body';
import { timingSafeEqual } from '../shared/auth';
import { isSafeId } from '../shared/storage-keys';
import { sha256Hex } from '../shared/runtime';
import type { Config } from '../shared/config';
import type { InputSettings } from './broadcast';
import { findLiveInputEvenDeleted, hashStreamKey, isStreamKeyShape, type LiveInputRow } from './inputs';
import { parsePushedPlaylist, segmentNumber } from './ledger';
import { probeSegment } from './ts-probe';

const NAME = /^[A-Za-z0-9_-]{1,64}\.(ts|m3u8)$/;

export function liveInputObject(env: Env, inputId: string) {
  return env.LIVE_INPUT.get(env.LIVE_INPUT.idFromName(inputId));
}

export const settingsOf = (row: LiveInputRow): InputSettings => ({
  id: row.id,
  creatorId: row.creatorId,
  title: row.title,
  recordingMode: row.recordingMode,
  dvrWindowSeconds: row.dvrWindowSeconds,
  reconnectWindowSeconds: row.reconnectWindowSeconds,
});

/** The ladder rung a source of `height` is published under: the rung of that height, else the nearest below it. */
export function rungNameFor(config: Config, height: number): string {
  const ladder = [...config.transcoding.ladder].sort((a, b) => a.height - b.height);
  return (ladder.filter((r) => r.height <= height).pop() ?? ladder[0]!).name;
}

/**
 * ffmpeg's HLS muxer closes its connection as soon as a file's last byte is sent, without reading the answer, and
 * exits right after the final playlist (the one with ENDLIST). A request whose client has gone is cancelled at its
 * next wait unless it is registered with `waitUntil`, so the whole handling is, from its first step: a pushed file is
 * checked and handed to the LiveInput object whether or not anyone reads the answer.
 */
export const ingestRoutes = new Hono<AppEnv>().put('/live/:inputId/:key/:name', (c) => {
  const handled = ingest(c);
  c.executionCtx.waitUntil(handled.catch(() => undefined));
  return handled;
});

async function ingest(c: Context<AppEnv>): Promise<Response> {
  const { inputId, key, name } = c.req.param() as { inputId: string; key: string; name: string };
  const config = c.var.config;
  if (!isSafeId(inputId) || !NAME.test(name)) throw notFound('no such ingest path: push to the ingest URL the live input gives');
  const row = await findLiveInputEvenDeleted(c.var.db, inputId);
  if (!row) throw notFound('live input not found');
  if (row.deletedAt !== null) throw gone('this live input was deleted');
  if (!isStreamKeyShape(key)) throw unauthorized('the stream key in the ingest URL is malformed');
  if (!timingSafeEqual(await hashStreamKey(key), row.streamKeyHash)) throw forbidden('the stream key is wrong or was rotated');
  const input = settingsOf(row);
  const stub = liveInputObject(c.env, inputId);
  if (name.endsWith('.m3u8')) {
    const bytes = await readCappedBody(c.req.raw, config.live.maxPlaylistBytes, `a pushed playlist may be at most ${config.live.maxPlaylistBytes} bytes`);
    const parsed = parsePushedPlaylist(new TextDecoder().decode(bytes));
    if (typeof parsed === 'string') throw apiError('bad_request', `the pushed playlist is not an HLS media playlist: ${parsed}`);
    await stub.pushPlaylist(input, parsed.entries, parsed.ended);
    return c.body(null, 204);
  }
  const num = segmentNumber(name);
  if (num === null) throw notFound(`segment names end in a number (${JSON.stringify(name)} does not): push with ffmpeg's HLS muxer`);
  const bytes = await readCappedBody(c.req.raw, config.live.maxSegmentBytes, `a pushed segment may be at most ${config.live.maxSegmentBytes} bytes`);
  const probe = probeSegment(bytes);
  if (!probe.ok) throw apiError('not_media', probe.reason);
  // readCappedBody's array is its own buffer, exactly the body.
  const buffer = bytes.buffer as ArrayBuffer;
  const result = await stub.pushSegment(input, num, buffer, await sha256Hex(buffer), probe.facts, rungNameFor(config, probe.facts.height));
  if (!result.ok) throw apiError(result.code, result.message);
  return c.body(null, result.duplicate ? 200 : 201);
}
