/**
 * Write leases (memory only). Writers take a lease first: per chunk for the chunk API (`chunk:{index}`), per upload
 * for tus PATCH (`patch`), the whole session for completion (`complete`). A second writer for the same slot gets
 * `busy` (HTTP 409). A lease expires after `writeLeaseMs` unless the streaming Worker renews it, so a crashed Worker
 * blocks no one for long, and a restarted object starts with none: the requests that held them died too. Durable
 * state is only changed by a commit checked against that state, not the lease, so a lapsed writer cannot corrupt it.
 */
import { newId } from '../../shared/runtime';

interface Lease {
  token: string;
  until: number;
}

export class Leases {
  private readonly held = new Map<string, Lease>();

  constructor(
    private readonly leaseMs: number,
    private readonly now: () => number,
  ) {}

  /** Whether a live lease holds `slot`. */
  isHeld(slot: string): boolean {
    const lease = this.held.get(slot);
    return !!lease && lease.until > this.now();
  }

  /** Whether any slot has a live lease (completion waits for every writer). */
  anyLive(): boolean {
    const now = this.now();
    return [...this.held.values()].some((l) => l.until > now);
  }

  owns(slot: string, token: string): boolean {
    return this.held.get(slot)?.token === token;
  }

  /** A new lease on `slot`, or null when it is held. */
  acquire(slot: string): string | null {
    if (this.isHeld(slot)) return null;
    const token = newId('lease');
    this.held.set(slot, { token, until: this.now() + this.leaseMs });
    return token;
  }

  /** Extends a lease by `leaseMs`; false when it is no longer held (lapsed and taken, or the object restarted). */
  renew(token: string): boolean {
    for (const lease of this.held.values()) {
      if (lease.token === token) {
        lease.until = this.now() + this.leaseMs;
        return true;
      }
    }
    return false;
  }

  release(token: string): void {
    for (const [slot, lease] of this.held) if (lease.token === token) this.held.delete(slot);
  }

  drop(slot: string): void {
    this.held.delete(slot);
  }

  clear(): void {
    this.held.clear();
  }
}
