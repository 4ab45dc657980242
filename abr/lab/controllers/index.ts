/**
 * The controllers the lab compares, behind one interface (abr/types.ts): the baselines, the shipped platform
 * controller and the stochastic planner's row. The simulator (`npm run abr:sim`) runs them all on network traces and
 * reports them in this order.
 */
import { createPlatformController } from '../../platform';
import type { AbrControllerFactory } from '../../types';
import { createBbaController } from './bba';
import { createBolaController } from './bola';
import { createHarmonicMeanController } from './harmonic-mean';
import { createHlsjsThroughputController } from './hlsjs-throughput';
import { createLabController } from './lab-platform';
import { STOCHASTIC_PARAMS } from './lab-params';

export { createBbaController, createBolaController, createHarmonicMeanController, createHlsjsThroughputController };

/** Every controller, baselines first. */
export const CONTROLLERS: ReadonlyArray<{ name: string; create: AbrControllerFactory }> = [
  { name: 'reference', create: createHarmonicMeanController },
  { name: 'hlsjs', create: createHlsjsThroughputController },
  { name: 'bba', create: createBbaController },
  { name: 'bola', create: createBolaController },
  { name: 'platform', create: (stream) => createPlatformController(stream) },
  /** Stochastic MPC (stochastic-mpc.ts) with the setting picked on the training half: reported, not shipped. */
  { name: 'platform-stochastic', create: (stream) => createLabController(stream, { params: STOCHASTIC_PARAMS, name: 'platform-stochastic' }) },
];
