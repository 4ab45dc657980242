/**
 * Small request bodies read whole, with a hard cap: a body over `max` bytes is a 413 as soon as the cap is passed,
 * whatever Content-Length claims (the rest is not read). For view beacons and caption files; large bodies
 * (uploads) stream instead.
 */
import { payloadTooLarge } from './errors';

export async function readCappedBody(req: Request, max: number, tooLarge: string): Promise<Uint8Array> {
  const declared = Number(req.headers.get('Content-Length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) throw payloadTooLarge(tooLarge);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (req.body) {
    const reader = req.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        await reader.cancel();
        throw payloadTooLarge(tooLarge);
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  return bytes;
}
