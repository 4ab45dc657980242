/** The committed learned models, for the lab options that use them (`learned*` and `imitation` in lab-params.ts). */
import { IMITATION_MODEL } from './imitation-model';
import type { LearnedWeights } from './learned-predictor';
import { LEARNED_WEIGHTS } from './learned-predictor-weights';
import { LEARNED_WEIGHTS_HORIZON } from './learned-predictor-weights-horizon';

export { IMITATION_MODEL };

/** The learned throughput predictor: model 0 predicts the next transfer's rate, model 1 the next 5 transfers' time average. */
export const learnedModel = (model: number): LearnedWeights => (model === 1 ? LEARNED_WEIGHTS_HORIZON : LEARNED_WEIGHTS);
