/**
 * What an ingested segment is, read from its bytes before anything is stored: an MPEG-TS file (188-byte packets,
 * each starting with 0x47) whose program has an H.264 video stream, and that stream's picture size and codec
 * string, from the first sequence parameter set (ITU-T H.264 §7.3.2.1.1). This is what ffmpeg's HLS muxer pushes
 * (`-f hls`, MPEG-TS segments). Anything else is not media for a live input.
 */

const PACKET = 188;

export interface SegmentFacts {
  width: number;
  height: number;
  /** RFC 6381 codecs of the variant, e.g. `avc1.64001f,mp4a.40.2`. */
  codecs: string;
  hasAudio: boolean;
}

export type ProbeResult = { ok: true; facts: SegmentFacts } | { ok: false; reason: string };

/** Reads exp-Golomb and fixed-width fields from an RBSP (emulation prevention bytes removed). */
class Bits {
  private pos = 0;
  constructor(private readonly bytes: Uint8Array) {}
  bit(): number {
    const byte = this.bytes[this.pos >> 3];
    if (byte === undefined) throw new Error('sps ended early');
    const b = (byte >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) if (++zeros > 31) throw new Error('bad exp-golomb');
    return 2 ** zeros - 1 + this.bits(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 ? (k + 1) / 2 : -k / 2;
  }
}

function unescapeRbsp(nal: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < nal.length; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i]!);
  }
  return Uint8Array.from(out);
}

function skipScalingList(r: Bits, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Width, height and `avc1.PPCCLL` from an SPS NAL unit (header byte included). */
export function parseSps(nal: Uint8Array): { width: number; height: number; codec: string } {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  const codec = `avc1.${hex(nal[1]!)}${hex(nal[2]!)}${hex(nal[3]!)}`;
  const r = new Bits(unescapeRbsp(nal.subarray(4)));
  const profile = nal[1]!;
  r.ue(); // seq_parameter_set_id
  let chroma = 1;
  if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profile)) {
    chroma = r.ue();
    if (chroma === 3) r.bit();
    r.ue();
    r.ue();
    r.bit();
    if (r.bit()) for (let i = 0; i < (chroma !== 3 ? 8 : 12); i++) if (r.bit()) skipScalingList(r, i < 6 ? 16 : 64);
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.bit();
    r.se();
    r.se();
    const n = r.ue();
    for (let i = 0; i < n; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.bit();
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.bit();
  if (!frameMbsOnly) r.bit();
  r.bit();
  let [left, right, top, bottom] = [0, 0, 0, 0];
  if (r.bit()) [left, right, top, bottom] = [r.ue(), r.ue(), r.ue(), r.ue()];
  const cropX = chroma === 0 || chroma === 3 ? 1 : 2;
  const cropY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
  return {
    width: widthMbs * 16 - cropX * (left + right),
    height: (2 - frameMbsOnly) * heightMapUnits * 16 - cropY * (top + bottom),
    codec,
  };
}

function findSps(es: Uint8Array): Uint8Array | null {
  for (let i = 0; i + 3 < es.length; i++) {
    if (es[i] !== 0 || es[i + 1] !== 0 || es[i + 2] !== 1) continue;
    const start = i + 3;
    if ((es[start]! & 0x1f) !== 7) continue;
    let end = start;
    while (end + 2 < es.length && !(es[end] === 0 && es[end + 1] === 0 && (es[end + 2] === 1 || es[end + 2] === 0))) end++;
    return es.subarray(start, end + 2 >= es.length ? es.length : end);
  }
  return null;
}

/** Probes a whole segment. Only the packets up to the first SPS are parsed; every packet's sync byte is checked. */
export function probeSegment(bytes: Uint8Array): ProbeResult {
  if (bytes.length < PACKET || bytes.length % PACKET !== 0) return { ok: false, reason: 'not an MPEG-TS segment (its length is not a whole number of 188-byte packets)' };
  for (let off = 0; off < bytes.length; off += PACKET) {
    if (bytes[off] !== 0x47) return { ok: false, reason: `not an MPEG-TS segment (no sync byte at offset ${off})` };
  }
  let pmtPid = -1;
  let videoPid = -1;
  let hasAudio = false;
  const es: number[] = [];
  for (let off = 0; off < bytes.length; off += PACKET) {
    const p = bytes.subarray(off, off + PACKET);
    const pid = ((p[1]! & 0x1f) << 8) | p[2]!;
    const start = (p[1]! & 0x40) !== 0;
    const afc = (p[3]! >> 4) & 3;
    let i = 4;
    if (afc === 2 || afc === 3) i += 1 + p[4]!;
    if (afc === 2 || afc === 0) continue;
    if (i >= PACKET) continue;
    if (pid === 0 && start && pmtPid < 0) {
      const s = i + 1 + p[i]!;
      pmtPid = ((p[s + 10]! & 0x1f) << 8) | p[s + 11]!;
    } else if (pid === pmtPid && start && videoPid < 0) {
      const s = i + 1 + p[i]!;
      const sectionEnd = s + 3 + (((p[s + 1]! & 0x0f) << 8) | p[s + 2]!) - 4;
      let e = s + 12 + (((p[s + 10]! & 0x0f) << 8) | p[s + 11]!);
      while (e + 5 <= sectionEnd && e + 5 <= PACKET) {
        const type = p[e]!;
        const esPid = ((p[e + 1]! & 0x1f) << 8) | p[e + 2]!;
        if (type === 0x1b && videoPid < 0) videoPid = esPid;
        if (type === 0x0f) hasAudio = true;
        e += 5 + (((p[e + 3]! & 0x0f) << 8) | p[e + 4]!);
      }
      if (videoPid < 0) return { ok: false, reason: 'the segment has no H.264 video stream (encode with -c:v libx264)' };
    } else if (pid === videoPid) {
      let payload = i;
      if (start) payload = i + 9 + p[i + 8]!;
      for (let k = payload; k < PACKET; k++) es.push(p[k]!);
      const sps = findSps(Uint8Array.from(es));
      if (sps && sps.length > 8) {
        try {
          const { width, height, codec } = parseSps(sps);
          if (width <= 0 || height <= 0) break;
          return { ok: true, facts: { width, height, codecs: hasAudio ? `${codec},mp4a.40.2` : codec, hasAudio } };
        } catch {
          break;
        }
      }
      if (es.length > 64 * 1024) break;
    }
  }
  return { ok: false, reason: videoPid < 0 ? 'the segment has no program with an H.264 video stream' : 'no H.264 sequence parameter set found in the segment (each segment must start with a keyframe: use -g equal to the segment length in frames)' };
}
