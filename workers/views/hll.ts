/**
 * Unique-viewer sketches: `hyperloglog-lite` (2^p one-byte registers, Murmur-based 4×32-bit hash).
 *
 * Precision `views.hllPrecision` (15) gives 32,768 registers (32 KiB per all-time sketch) and a standard error of
 * 1.04/√32768 ≈ 0.57% (Redis uses 14: 16,384 registers, 0.81%).
 * Registers are the serialised form: a shard persists only the register an `add` raised (at most one per add),
 * and merging sketches is the register-wise max, which the library's `merge` does for equal precisions.
 */
import HyperLogLog, { type Hash, type HyperLogLogInstance } from 'hyperloglog-lite';

export type ViewerHash = Hash;

export const hashViewer = (viewerId: string): ViewerHash => HyperLogLog.hash(viewerId);

export class ViewerSketch {
  private readonly hll: HyperLogLogInstance;

  constructor(readonly precision: number, registers?: Uint8Array) {
    this.hll = HyperLogLog(precision);
    if (registers) this.merge(registers);
  }

  /** Adds a viewer; returns the register index and its new value when the add raised it, else null. */
  add(hash: ViewerHash): { index: number; value: number } | null {
    const index = registerIndex(hash, this.precision);
    const buckets = this.hll.output().buckets;
    const before = buckets[index]!;
    this.hll.add(hash);
    const after = this.hll.output().buckets[index]!;
    return after > before ? { index, value: after } : null;
  }

  merge(registers: Uint8Array): void {
    if (registers.length !== 1 << this.precision) {
      throw new Error(`sketch of ${registers.length} registers cannot merge into precision ${this.precision}`);
    }
    this.hll.merge({ n: this.precision, buckets: registers });
  }

  count(): number {
    return this.hll.count();
  }

  /** A copy of the registers (the library hands out its live buffer). */
  registers(): Uint8Array {
    return new Uint8Array(this.hll.output().buckets);
  }

  isEmpty(): boolean {
    return this.hll.output().buckets.every((b) => b === 0);
  }
}

/** Same register choice as the library: the top `precision` bits of the first hash word. */
export function registerIndex(hash: ViewerHash, precision: number): number {
  return hash[0] >>> (32 - precision);
}

/** Restores a sketch from sparse (index, value) rows in one merge instead of one per register. */
export function sketchFromRows(precision: number, rows: Iterable<{ idx: number; val: number }>): ViewerSketch {
  const regs = new Uint8Array(1 << precision);
  for (const row of rows) regs[row.idx] = row.val;
  return new ViewerSketch(precision, regs);
}
