/**
 * QoE beacons: every player of the page registers its playback session here. When the page is hidden or closed
 * (`visibilitychange` to hidden, `pagehide`: the last moments a page reliably runs, on phones too) each player's
 * record is sent if it changed since its last send, with `navigator.sendBeacon` (which outlives the page), in
 * beacons of at most 8 records and 8 KB per video. Each send of a session's record carries the next `seq`, and the
 * server keeps the highest: one record per session, the latest. A player that is removed sends its record at once.
 */
import type { QoeFigures } from './collector';

export interface QoeRecord extends QoeFigures {
  session: string;
  seq: number;
}

export interface QoeSource {
  /** `{origin}/v1/videos/{id}/qoe` */
  endpoint: string;
  /** The session's figures now, or null when there is nothing to report (no playback session, no play intent). */
  figures(): { session: string; figures: QoeFigures } | null;
}

const MAX_RECORDS = 8;
const MAX_BYTES = 8192;

interface Registered {
  source: QoeSource;
  seq: number;
  last: string | null;
}

/** How a beacon leaves the page (navigator.sendBeacon; a test passes its own). */
export type BeaconSender = (url: string, body: string) => void;

export const sendBeacon: BeaconSender = (url, body) => {
  // text/plain: a simple request, no CORS preflight (the server reads it as JSON).
  if (typeof navigator.sendBeacon === 'function' && navigator.sendBeacon(url, body)) return;
  void fetch(url, { method: 'POST', body, keepalive: true, mode: 'cors', credentials: 'omit', headers: { 'Content-Type': 'text/plain;charset=UTF-8' } }).catch(() => undefined);
};

export class QoeReporter {
  private readonly players = new Set<Registered>();
  private listening = false;

  constructor(private readonly send: BeaconSender = sendBeacon) {}

  /** Registers a player; the returned function sends its last record and forgets it. */
  register(source: QoeSource): () => void {
    const entry: Registered = { source, seq: 0, last: null };
    this.players.add(entry);
    this.listen();
    return () => {
      this.flush([entry]);
      this.players.delete(entry);
    };
  }

  /** Sends the changed records of the given players (all by default). */
  flush(entries: Iterable<Registered> = this.players): void {
    const byEndpoint = new Map<string, QoeRecord[]>();
    for (const entry of entries) {
      const now = entry.source.figures();
      if (!now) continue;
      const text = JSON.stringify(now);
      if (text === entry.last) continue;
      entry.last = text;
      const list = byEndpoint.get(entry.source.endpoint) ?? [];
      list.push({ session: now.session, seq: entry.seq++, ...now.figures });
      byEndpoint.set(entry.source.endpoint, list);
    }
    for (const [endpoint, records] of byEndpoint) {
      for (const batch of batches(records)) this.send(endpoint, JSON.stringify({ records: batch }));
    }
  }

  private listen(): void {
    if (this.listening || typeof document === 'undefined') return;
    this.listening = true;
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') this.flush();
    });
    addEventListener('pagehide', () => this.flush());
  }
}

/** Records in beacons of at most 8 records and 8 KB. */
export function batches(records: readonly QoeRecord[]): QoeRecord[][] {
  const out: QoeRecord[][] = [];
  let current: QoeRecord[] = [];
  for (const record of records) {
    const next = [...current, record];
    if (current.length > 0 && (next.length > MAX_RECORDS || JSON.stringify({ records: next }).length > MAX_BYTES)) {
      out.push(current);
      current = [record];
    } else current = next;
  }
  if (current.length) out.push(current);
  return out;
}

/** The page's one reporter (several players on a page share its beacons). */
export const pageReporter = new QoeReporter();
