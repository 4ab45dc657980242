/**
 * Time, randomness and ids come through here so tests can make them deterministic
 * (`setRuntime({ now: () => fixed })`).
 */
export interface Runtime {
  now(): number;
  random(): number;
  randomBytes(n: number): Uint8Array;
}

const systemRuntime: Runtime = {
  now: () => Date.now(),
  random: () => Math.random(),
  randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
};

let current: Runtime = systemRuntime;

export const runtime = (): Runtime => current;

/** Overrides parts of the runtime; returns a function that restores the previous one. */
export function setRuntime(overrides: Partial<Runtime>): () => void {
  const previous = current;
  current = { ...previous, ...overrides };
  return () => {
    current = previous;
  };
}

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/** A random id with a type prefix, e.g. `vid_1k9x…`; 16 base32 chars = 80 bits. */
export function newId(prefix: string, length = 16): string {
  const bytes = current.randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 31];
  return `${prefix}_${out}`;
}

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = '';
  for (const b of view) out += b.toString(16).padStart(2, '0');
  return out;
}

export async function sha256Hex(data: string | ArrayBuffer | Uint8Array<ArrayBuffer>): Promise<string> {
  const input = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return toHex(await crypto.subtle.digest('SHA-256', input));
}
