/**
 * RFC 6381 `CODECS` strings read from the encoded bitstream, never from what was asked for:
 * - `avc1.PPCCLL` from an H.264 SPS (Annex B, MPEG-TS) or the `avcC` record of a CMAF init segment;
 * - `hvc1.…` from the `hvcC` record (ISO/IEC 14496-15 §E.3: profile space and idc, compatibility flags bit-reversed,
 *   tier and level, constraint bytes without trailing zeros);
 * - `av01.P.LLT.DD` from the `av1C` record (AV1 ISOBMFF binding §5: profile, level, tier, bit depth).
 */

const hex2 = (b: number) => b.toString(16).padStart(2, '0');

/** `avc1.PPCCLL` from the first SPS in an Annex B H.264 stream (profile_idc, constraint flags, level_idc). */
export function avcCodecFromAnnexB(bytes: Uint8Array): string | null {
  for (let i = 0; i + 6 < bytes.length; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1 && (bytes[i + 3]! & 0x1f) === 7) {
      return `avc1.${hex2(bytes[i + 4]!)}${hex2(bytes[i + 5]!)}${hex2(bytes[i + 6]!)}`;
    }
  }
  return null;
}

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl']);
/** Sample entries whose children follow a fixed-size header (ISO/IEC 14496-12 VisualSampleEntry: 78 bytes). */
const VISUAL_ENTRIES = new Set(['avc1', 'avc3', 'hvc1', 'hev1', 'av01']);

/** The payload of the first box of `type` found under moov/…/stsd/<visual sample entry>, or null. */
export function findCodecRecord(bytes: Uint8Array, type: 'avcC' | 'hvcC' | 'av1C'): Uint8Array | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const walk = (start: number, end: number): Uint8Array | null => {
    for (let at = start; at + 8 <= end; ) {
      let size = view.getUint32(at);
      const name = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
      let header = 8;
      if (size === 1 && at + 16 <= end) {
        size = Number(view.getBigUint64(at + 8));
        header = 16;
      } else if (size === 0) size = end - at;
      if (size < header || at + size > end) return null;
      if (name === type) return bytes.subarray(at + header, at + size);
      let found: Uint8Array | null = null;
      if (CONTAINERS.has(name)) found = walk(at + header, at + size);
      else if (name === 'stsd') found = walk(at + header + 8, at + size);
      else if (VISUAL_ENTRIES.has(name)) found = walk(at + header + 78, at + size);
      if (found) return found;
      at += size;
    }
    return null;
  };
  return walk(0, bytes.length);
}

/** `avc1.PPCCLL` from an `avcC` record (configurationVersion, profile, compatibility, level). */
export function avcCodecFromAvcC(record: Uint8Array): string | null {
  if (record.length < 4 || record[0] !== 1) return null;
  return `avc1.${hex2(record[1]!)}${hex2(record[2]!)}${hex2(record[3]!)}`;
}

/** `hvc1.<space><profile>.<compat>.<tier><level>.<constraints>` from an `hvcC` record. */
export function hevcCodecFromHvcC(record: Uint8Array, sampleEntry: 'hvc1' | 'hev1' = 'hvc1'): string | null {
  if (record.length < 13 || record[0] !== 1) return null;
  const space = (record[1]! >> 6) & 0x3;
  const tier = (record[1]! >> 5) & 0x1;
  const profile = record[1]! & 0x1f;
  const compat = ((record[2]! << 24) | (record[3]! << 16) | (record[4]! << 8) | record[5]!) >>> 0;
  let reversed = 0;
  for (let bit = 0; bit < 32; bit++) if (compat & (1 << bit)) reversed |= 1 << (31 - bit);
  const constraints = Array.from(record.subarray(6, 12));
  while (constraints.length > 0 && constraints.at(-1) === 0) constraints.pop();
  const parts = [sampleEntry, `${['', 'A', 'B', 'C'][space]}${profile}`, (reversed >>> 0).toString(16).toUpperCase(), `${tier ? 'H' : 'L'}${record[12]}`];
  if (constraints.length > 0) parts.push(...constraints.map((b) => b.toString(16).toUpperCase()));
  return parts.join('.');
}

/** `av01.<profile>.<level><tier>.<bitDepth>` from an `av1C` record. */
export function av1CodecFromAv1C(record: Uint8Array): string | null {
  if (record.length < 4 || (record[0]! & 0x80) === 0) return null;
  const profile = (record[1]! >> 5) & 0x7;
  const level = record[1]! & 0x1f;
  const tier = (record[2]! >> 7) & 0x1;
  const highBitdepth = (record[2]! >> 6) & 0x1;
  const twelveBit = (record[2]! >> 5) & 0x1;
  const depth = highBitdepth ? (twelveBit ? 12 : 10) : 8;
  return `av01.${profile}.${String(level).padStart(2, '0')}${tier ? 'H' : 'M'}.${String(depth).padStart(2, '0')}`;
}

/** The video CODECS string of a CMAF init segment, whatever its codec; null when it holds none of the three. */
export function videoCodecFromInit(init: Uint8Array): string | null {
  const avcC = findCodecRecord(init, 'avcC');
  if (avcC) return avcCodecFromAvcC(avcC);
  const hvcC = findCodecRecord(init, 'hvcC');
  if (hvcC) return hevcCodecFromHvcC(hvcC);
  const av1C = findCodecRecord(init, 'av1C');
  return av1C ? av1CodecFromAv1C(av1C) : null;
}
