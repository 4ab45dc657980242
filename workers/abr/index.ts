/**
 * Adaptive bitrate: the controllers the platform compares, behind one interface (types.ts). The player uses
 * `createPlatformController` through hls-abr-controller.ts; the simulator (workers/abr/sim, `npm run abr:sim`) runs
 * them all on network traces.
 */
import { createBbaController } from './bba';
import { createBolaController } from './bola';
import { createHlsjsThroughputController } from './hlsjs-throughput';
import { createPlatformController } from './platform';
import { createSeedController } from './seed';
import type { AbrControllerFactory } from './types';

export * from './types';
export { createBbaController, createBolaController, createHlsjsThroughputController, createPlatformController, createSeedController };

/** Every controller, baselines first; the simulator reports them in this order. */
export const CONTROLLERS: ReadonlyArray<{ name: string; create: AbrControllerFactory }> = [
  { name: 'seed', create: createSeedController },
  { name: 'hlsjs', create: createHlsjsThroughputController },
  { name: 'bba', create: createBbaController },
  { name: 'bola', create: createBolaController },
  { name: 'platform', create: (stream) => createPlatformController(stream) },
];
