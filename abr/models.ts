/**
 * The learned models of #17 round six (abr/imitation-model.ts, abr/learned-predictor-weights*.ts) are data that only
 * options which are off by default use. They are registered here instead of imported by the controller, so the
 * player's bundle (the watch page imports abr/) does not carry ~25 KB of weights it never reads. The simulator and
 * its tools register the committed models (abr/sim/models.ts); a controller whose params ask for a model that was not
 * registered throws at creation.
 */
import type { ImitationModel } from './imitation';
import type { LearnedWeights } from './learned-predictor';

export interface AbrModels {
  imitation?: ImitationModel;
  /** The learned throughput predictor: [next transfer, next 5 transfers' time average] (`learnedModel` 0 / 1). */
  learned?: readonly [LearnedWeights, LearnedWeights];
}

const registered: AbrModels = {};

export function registerAbrModels(models: AbrModels): void {
  Object.assign(registered, models);
}

export function abrModel<K extends keyof AbrModels>(name: K): NonNullable<AbrModels[K]> {
  const model = registered[name];
  if (!model) throw new Error(`ABR model "${name}" is not registered: import abr/sim/models.ts (the committed models) or call registerAbrModels`);
  return model as NonNullable<AbrModels[K]>;
}
