/**
 * Stochastic model-predictive control: the non-learned form of Fugu (Yan et al., "Learning in situ: a randomized
 * experiment in video streaming", NSDI 2020). RobustMPC (the shipped planner, abr/platform.ts) plans against one point
 * estimate divided by a safety factor; this planner maximises the *expected* QoE_lin over a *distribution* of
 * throughputs, by value iteration over a short horizon on a discretised buffer.
 *
 * Model: at each of the next `steps` segments the throughput is drawn from the weighted samples (the controller
 * builds them from its recent transfers; Fugu learns a transmit-time distribution instead), independently, or with
 * `persistence` ρ the previous segment's rate again with probability ρ (a Markov chain over the samples). A download
 * of rung a at throughput w takes ttfb + bits / w; the buffer drains meanwhile, stalls when dry, gains one segment
 * when it lands, and is capped at the player's maximum (the player then waits for room, which costs nothing). The
 * reward of a segment is QoE_lin's own: Mbps − rebufferPenalty × stall s − switchPenalty × |Mbps change|; a plan that
 * ends with less than `terminalBufferSec` of buffer pays the shortfall as stall (the platform's terminal cost).
 *
 * Because the expectation is taken at every step and the next rung is chosen again from the buffer reached (a
 * closed-loop policy, the Bellman recursion), a rare slow sample costs what it would really cost: one segment's
 * stall, after which the policy steps down. An open-loop plan scored against each scenario (the lab's
 * `scenarios` option) must keep its rungs even in the bad scenario and so overpays for it.
 *
 * Optionally the controller's emergency abandon is part of the model (`abandonAfterSec`): a download that would
 * stall is dropped after that many seconds for the highest lower rung that still lands before the buffer runs dry
 * (or the lowest, if that beats finishing), as the shipped controller's onProgress does at a constant rate. Without
 * it a near-zero sample in the distribution (a Puffer idle second) makes every rung above the lowest look like minutes of stall.
 *
 * Cost: the value of every (grid buffer, previous rung[, sample last seen when ρ > 0]) is computed once per step:
 * steps × grid points × rungs × samples outcomes, plus rungs² × samples per grid point with persistence. The state
 * space is bounded by the grid (0.25 s over 24 s: 98 points), not by the horizon's branching (RobustMPC's tree search
 * is rungs^steps). Measured in node 20 on a loaded 2-core machine: 2.2 ms per decision with 8 samples, 7 ms with 16,
 * 17–23 ms with 16–20 samples and ρ > 0.
 */

export interface ThroughputSample {
  /** bits/s */
  bps: number;
  /** Relative weight (need not be normalised; must be ≥ 0, with a positive total). */
  weight: number;
}

export interface StochasticPlanInput {
  /** Buffer at the decision, seconds (exact: the root of the recursion is not on the grid). */
  bufferSec: number;
  /** Rung of the previous segment, or -1 before the first (no switch cost). */
  lastLevel: number;
  /** Utility of every rung (Mbps for QoE_lin), ascending. */
  utilities: readonly number[];
  /** Highest rung that may be chosen (a cap); defaults to the top rung. */
  maxLevel?: number;
  segmentDurationSec: number;
  maxBufferSec: number;
  /** Segments to plan (≥ 1). */
  steps: number;
  /** Bits of the segment `step` segments ahead at `level`. */
  bits: (step: number, level: number) => number;
  ttfbSec: number;
  samples: readonly ThroughputSample[];
  rebufferPenalty: number;
  switchPenalty: number;
  terminalBufferSec: number;
  terminalWeight: number;
  /** Buffer grid for the steps after the first, seconds. */
  bufferStepSec: number;
  /** Model the emergency abandon after this many seconds of a download that would stall; 0 = off. */
  abandonAfterSec?: number;
  /**
   * Probability that a segment's throughput is the previous segment's sample again (0 = every segment draws afresh
   * from the weights, independent; 1 = the link stays at whatever rate the last segment saw). Links fade and recover
   * over tens of seconds (hsdpa, puffer's on/off), so consecutive segments are not independent.
   */
  persistence?: number;
  /** Index into `samples` of the rate the latest download saw (the regime the first step persists from). */
  currentSample?: number;
}

export interface StochasticPlan {
  /** The rung to fetch now. */
  level: number;
  /** Expected value of fetching each rung now and acting optimally afterwards (index = rung). */
  values: number[];
}

/** One download's outcome under one throughput sample: seconds until it landed and the rung actually played. */
interface Outcome {
  elapsed: number;
  played: number;
}

export function planStochastic(input: StochasticPlanInput): StochasticPlan {
  const levels = Math.min(input.utilities.length, (input.maxLevel ?? input.utilities.length - 1) + 1);
  const steps = Math.max(1, Math.floor(input.steps));
  const dur = input.segmentDurationSec;
  const u = input.utilities;
  const valid = input.samples.map((x, index) => ({ ...x, index })).filter((x) => x.weight > 0 && x.bps > 0 && Number.isFinite(x.bps));
  const total = valid.reduce((s, x) => s + x.weight, 0);
  if (levels <= 0 || valid.length === 0 || !(total > 0)) return { level: 0, values: [] };
  const k = valid.length;
  const bps = valid.map((x) => x.bps);
  const w = valid.map((x) => x.weight / total);
  const rho = Math.min(1, Math.max(0, input.persistence ?? 0));
  const current = input.currentSample === undefined ? -1 : valid.findIndex((x) => x.index === input.currentSample);
  const abandonAfter = input.abandonAfterSec ?? 0;

  // Download seconds of every (step, rung, sample), computed once.
  const download: Float64Array[] = Array.from({ length: steps }, (_, step) => {
    const row = new Float64Array(levels * k);
    for (let a = 0; a < levels; a++) {
      const bits = input.bits(step, a);
      for (let i = 0; i < k; i++) row[a * k + i] = input.ttfbSec + bits / (bps[i] as number);
    }
    return row;
  });
  /** Seconds until rung `a` (fetched at `step` under sample `i` with `buffer` s buffered) lands, and the rung played. */
  const outcome = (step: number, a: number, i: number, buffer: number, out: { elapsed: number; played: number }): void => {
    const row = download[step] as Float64Array;
    const t = row[a * k + i] as number;
    out.elapsed = t;
    out.played = a;
    if (abandonAfter <= 0 || a === 0 || t <= buffer || t <= abandonAfter) return;
    // The emergency rule at a constant rate: at `abandonAfter` s it sees the download will outlast the buffer.
    const left = Math.max(0, buffer - abandonAfter);
    for (let j = a - 1; j >= 0; j--) {
      const fresh = row[j * k + i] as number;
      if (fresh <= left) {
        out.elapsed = abandonAfter + fresh;
        out.played = j;
        return;
      }
    }
    const lowest = row[i] as number;
    if (lowest < t - abandonAfter) {
      out.elapsed = abandonAfter + lowest;
      out.played = 0;
    }
  };

  // Value after the last step: the terminal cost on the buffer the plan ends with.
  const terminal = (buffer: number): number => -input.terminalWeight * input.rebufferPenalty * Math.max(0, input.terminalBufferSec - buffer);

  // Grid of decision buffers for steps ≥ 1: the player requests only with room for a segment, so ≤ max − duration.
  const gridTop = Math.max(0, input.maxBufferSec - dur);
  const gridStep = input.bufferStepSec > 0 ? input.bufferStepSec : 0.25;
  const points = Math.floor(gridTop / gridStep + 1e-9) + 2; // one past the top, so interpolation at gridTop is exact
  // Independent draws (rho = 0): the value does not depend on the sample the latest download saw, so one column.
  const kt = rho > 0 ? k : 1;
  /** table[(g × levels + prev) × kt + i]: value of a decision at buffer g × gridStep after rung prev landed under sample i. */
  const valueOf = (table: Float64Array | null, buffer: number, prev: number, i: number): number => {
    if (table === null) return terminal(buffer);
    const b = Math.min(Math.max(buffer, 0), gridTop) / gridStep;
    const g = Math.min(Math.floor(b), points - 2);
    const f = b - g;
    const col = kt === 1 ? 0 : i;
    const lo = table[(g * levels + prev) * kt + col] as number;
    const hi = table[((g + 1) * levels + prev) * kt + col] as number;
    return lo + f * (hi - lo);
  };
  /** switchCost[played × levels + prev] */
  const switchCost = new Float64Array(levels * levels);
  for (let j = 0; j < levels; j++) for (let q = 0; q < levels; q++) switchCost[j * levels + q] = input.switchPenalty * Math.abs((u[j] as number) - (u[q] as number));

  // For a decision at `step` with `buffer`, per (rung a, sample j): the reward and value after, without the switch
  // cost (base), and the rung played (≠ a only when the abandon model steps down). The switch cost depends on the
  // previous rung, which is added per previous rung afterwards.
  const base = new Float64Array(levels * k);
  const played = new Int32Array(levels * k);
  const scratch = { elapsed: 0, played: 0 };
  const expand = (step: number, buffer: number, table: Float64Array | null): void => {
    for (let a = 0; a < levels; a++) {
      for (let j = 0; j < k; j++) {
        outcome(step, a, j, buffer, scratch);
        const { elapsed } = scratch;
        const stall = elapsed > buffer ? elapsed - buffer : 0;
        const after = Math.min((elapsed < buffer ? buffer - elapsed : 0) + dur, input.maxBufferSec);
        base[a * k + j] = (u[scratch.played] as number) - input.rebufferPenalty * stall + valueOf(table, after, scratch.played, j);
        played[a * k + j] = scratch.played;
      }
    }
  };
  /** Value of fetching rung a after rung prev (-1: none), under sample j (switch cost included). */
  const valueUnder = (a: number, j: number, prev: number): number => {
    const v = base[a * k + j] as number;
    return prev < 0 || prev >= levels ? (prev < 0 || prev >= u.length ? v : v - input.switchPenalty * Math.abs((u[played[a * k + j] as number] as number) - (u[prev] as number))) : v - (switchCost[(played[a * k + j] as number) * levels + prev] as number);
  };
  /**
   * Draws afresh from w: per rung a, the mean of base over the samples and the probability of each rung being played;
   * the expected switch cost after prev is then Σ over the rungs played, without going over the samples again.
   */
  const baseMean = new Float64Array(levels);
  const playedProb = new Float64Array(levels * levels);
  const summarize = (): void => {
    baseMean.fill(0);
    playedProb.fill(0);
    for (let a = 0; a < levels; a++) {
      let mean = 0;
      for (let j = 0; j < k; j++) {
        const p = w[j] as number;
        mean += p * (base[a * k + j] as number);
        const cell = a * levels + (played[a * k + j] as number);
        playedProb[cell] = (playedProb[cell] as number) + p;
      }
      baseMean[a] = mean;
    }
  };
  const freshValue = (a: number, prev: number): number => {
    let v = baseMean[a] as number;
    if (prev < 0 || prev >= u.length) return v;
    for (let j = 0; j <= a; j++) {
      const q = playedProb[a * levels + j] as number;
      if (q > 0) v -= q * (prev < levels ? (switchCost[j * levels + prev] as number) : input.switchPenalty * Math.abs((u[j] as number) - (u[prev] as number)));
    }
    return v;
  };
  /** Expected value of rung a after rung prev: the sample persists (probability rho) or is drawn afresh from w. */
  const expected = (a: number, prev: number, last: number): number => {
    const fresh = freshValue(a, prev);
    return last < 0 ? fresh : rho * valueUnder(a, last, prev) + (1 - rho) * fresh;
  };

  let next: Float64Array | null = null;
  const fresh = new Float64Array(levels);
  for (let step = steps - 1; step >= 1; step--) {
    const table = new Float64Array(points * levels * kt);
    for (let g = 0; g < points; g++) {
      expand(step, Math.min(g * gridStep, gridTop), next);
      summarize();
      for (let prev = 0; prev < levels; prev++) {
        for (let a = 0; a < levels; a++) fresh[a] = freshValue(a, prev);
        for (let last = 0; last < kt; last++) {
          let best = -Infinity;
          for (let a = 0; a < levels; a++) {
            const v = rho > 0 ? rho * valueUnder(a, last, prev) + (1 - rho) * (fresh[a] as number) : (fresh[a] as number);
            if (v > best) best = v;
          }
          table[(g * levels + prev) * kt + last] = best;
        }
      }
    }
    next = table;
  }
  expand(0, input.bufferSec, next);
  summarize();
  const values = Array.from({ length: levels }, (_, a) => expected(a, input.lastLevel, current));
  let level = 0;
  for (let a = 1; a < levels; a++) if ((values[a] as number) > (values[level] as number)) level = a;
  return { level, values };
}
