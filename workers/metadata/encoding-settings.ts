/**
 * A new video's encoding settings — `ladderMode`, `packaging`, `codecs` — from its creation request and the
 * platform defaults (LADDER_MODE, PACKAGING). Each field's own values are checked by the request schema
 * (schemas.ts `EncodingFields`); the rules between them are here, with the defaults known:
 * - `codecs` lists H.264 (every player can play it; HEVC and AV1 only add rungs), each codec once;
 * - HEVC and AV1 rungs need CMAF packaging: MPEG-TS segments here carry H.264 only.
 * Stored with H.264 first, then the others in the order given.
 */
import { badRequest } from '../shared/errors';
import type { Config } from '../shared/config';
import type { LadderMode, Packaging, VideoCodec } from '../../schema/schema';

export interface EncodingFields {
  ladderMode?: LadderMode;
  packaging?: Packaging;
  codecs?: VideoCodec[];
}

export interface EncodingSettings {
  ladderMode: LadderMode;
  packaging: Packaging;
  /** JSON, as stored. */
  codecs: string;
}

export function encodingSettings(fields: EncodingFields, config: Config): EncodingSettings {
  const ladderMode = fields.ladderMode ?? config.transcoding.ladderMode;
  const packaging = fields.packaging ?? config.transcoding.packaging;
  const asked = fields.codecs ?? ['h264'];
  const duplicates = asked.filter((c, i) => asked.indexOf(c) !== i);
  if (duplicates.length > 0) throw badRequest(`codecs lists ${[...new Set(duplicates)].join(', ')} more than once`);
  if (!asked.includes('h264')) throw badRequest('codecs must include "h264": every player can play it; "hevc" and "av1" add rungs beside it');
  const extra = asked.filter((c) => c !== 'h264');
  if (extra.length > 0 && packaging !== 'cmaf') {
    const why = fields.packaging === undefined ? ` (the platform default packaging is "${packaging}")` : '';
    throw badRequest(`codecs ${extra.map((c) => `"${c}"`).join(' and ')} need packaging "cmaf"${why}: MPEG-TS segments carry H.264 only`);
  }
  return { ladderMode, packaging, codecs: JSON.stringify(['h264', ...extra]) };
}
