/** Types for `hyperloglog-lite` (plain CommonJS, no bundled types); shapes read from its hyperloglog.js. */
declare module 'hyperloglog-lite' {
  /** Four unsigned 32-bit words: word 0 picks the register, words 3 and 2 give the rank (trailing zeroes). */
  export type Hash = [number, number, number, number];
  export interface HllState {
    n: number;
    /** One byte per register. `output()` returns the live buffer, not a copy. */
    buckets: Uint8Array;
  }
  export interface HyperLogLogInstance {
    add(hash: Hash | null): HyperLogLogInstance;
    count(): number;
    relative_error(): number;
    output(): HllState;
    merge(state: HllState): void;
  }
  interface HyperLogLogFactory {
    (precision: number): HyperLogLogInstance;
    hash(value: string): Hash;
  }
  const HyperLogLog: HyperLogLogFactory;
  export default HyperLogLog;
}
