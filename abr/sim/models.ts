/**
 * Registers the committed learned models (#17 round six) for the simulator and its tools: imported by the simulator
 * (simulator.ts), so every controller it runs can use the options that need them. The player does not import this.
 */
import { IMITATION_MODEL } from '../imitation-model';
import { LEARNED_WEIGHTS } from '../learned-predictor-weights';
import { LEARNED_WEIGHTS_HORIZON } from '../learned-predictor-weights-horizon';
import { registerAbrModels } from '../models';

registerAbrModels({ imitation: IMITATION_MODEL, learned: [LEARNED_WEIGHTS, LEARNED_WEIGHTS_HORIZON] });
