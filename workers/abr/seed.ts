import { HarmonicWindow } from './estimators';
import { highestRungUnder, capLevel, type AbrController, type AbrStream } from './types';

/**
 * The production design's controller, kept as the baseline (seed §2 "Client-Side ABR Algorithm"):
 * bandwidth sample = segment bits / whole download time, harmonic mean of the last 5 samples, safety factor 0.8
 * (0.5 under 10 s of buffer), highest rung whose bitrate fits. No estimate yet → the lowest rung.
 */
export const SEED_PARAMS = { window: 5, safety: 0.8, lowBufferSafety: 0.5, lowBufferSec: 10 } as const;

export function createSeedController(stream: AbrStream): AbrController {
  const history = new HarmonicWindow(SEED_PARAMS.window);
  return {
    name: 'seed',
    chooseLevel(decision) {
      const estimate = history.mean() ?? 0;
      const safety = decision.bufferSec < SEED_PARAMS.lowBufferSec ? SEED_PARAMS.lowBufferSafety : SEED_PARAMS.safety;
      return highestRungUnder(stream.bitrates, estimate * safety, capLevel(stream, decision));
    },
    onDownloaded(sample) {
      if (sample.durationSec > 0) history.push(sample.bits / sample.durationSec);
    },
    bandwidthEstimate: () => history.mean(),
  };
}
