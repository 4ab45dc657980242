/**
 * Adaptive bitrate: the controllers the platform compares, behind one interface (types.ts). The player uses
 * `createPlatformController` through hls-abr-controller.ts; the simulator (abr/sim, `npm run abr:sim`) runs
 * them all on network traces.
 */
import { createBbaController } from './bba';
import { createBolaController } from './bola';
import { createHarmonicMeanController } from './harmonic-mean';
import { createHlsjsThroughputController } from './hlsjs-throughput';
import { createPlatformController, STOCHASTIC_PARAMS } from './platform';
import type { AbrControllerFactory } from './types';

export * from './types';
export { createBbaController, createBolaController, createHlsjsThroughputController, createPlatformController, createHarmonicMeanController };

/** Every controller, baselines first; the simulator reports them in this order. */
export const CONTROLLERS: ReadonlyArray<{ name: string; create: AbrControllerFactory }> = [
  { name: 'reference', create: createHarmonicMeanController },
  { name: 'hlsjs', create: createHlsjsThroughputController },
  { name: 'bba', create: createBbaController },
  { name: 'bola', create: createBolaController },
  { name: 'platform', create: (stream) => createPlatformController(stream) },
  /** Stochastic MPC (the non-learned Fugu; abr/stochastic-mpc.ts): reported next to the platform, not shipped. */
  { name: 'platform-stochastic', create: (stream) => createPlatformController(stream, { params: STOCHASTIC_PARAMS, name: 'platform-stochastic' }) },
];
