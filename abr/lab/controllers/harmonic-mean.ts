import { HarmonicWindow } from '../../estimators';
import { highestRungUnder, capLevel, type AbrController, type AbrStream } from '../../types';

/**
 * The reference rule: the production design's client-side ABR ("Client-Side ABR Algorithm"), kept as the baseline
 * every other controller is compared with. Bandwidth sample = segment bits / whole download time, harmonic mean of
 * the last 5 samples, safety factor 0.8 (0.5 under 10 s of buffer), highest rung whose bitrate fits. No estimate
 * yet → the lowest rung. Reported as `reference` by the simulator and the benchmarks.
 */
export const HARMONIC_MEAN_PARAMS = { window: 5, safety: 0.8, lowBufferSafety: 0.5, lowBufferSec: 10 } as const;

export function createHarmonicMeanController(stream: AbrStream): AbrController {
  const history = new HarmonicWindow(HARMONIC_MEAN_PARAMS.window);
  return {
    name: 'reference',
    chooseLevel(decision) {
      const estimate = history.mean() ?? 0;
      const p = HARMONIC_MEAN_PARAMS;
      const safety = decision.bufferSec < p.lowBufferSec ? p.lowBufferSafety : p.safety;
      return highestRungUnder(stream.bitrates, estimate * safety, capLevel(stream, decision));
    },
    onDownloaded(sample) {
      if (sample.durationSec > 0) history.push(sample.bits / sample.durationSec);
    },
    bandwidthEstimate: () => history.mean(),
  };
}
