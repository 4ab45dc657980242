import { loadTraceDir } from './abr/sim/traces';
import { simulateSession } from './abr/sim/simulator';
import { createPlatformController, createHarmonicMeanController } from './abr/index';
import { LADDER } from './workers/shared/config';
import type { AbrController } from './abr/types';
const stream = { bitrates: LADDER.map((r) => r.bitrate), segmentDurationSec: 6, maxBufferSec: 30 };
const options = { stream, segmentCount: 50, rttSec: 0.08, progressIntervalSec: 0.1 };
const { traces } = loadTraceDir('/work/shared/traces');
const which = process.argv[2] ?? 'ferry';
const params = JSON.parse(process.argv[3] ?? '{}');
for (const trace of traces.filter((t) => t.name.includes(which))) {
  for (const make of [() => createPlatformController(stream, { params }), () => createHarmonicMeanController(stream)]) {
    const inner: AbrController = make();
    const log: string[] = [];
    let pending = '';
    const c: AbrController = {
      name: inner.name,
      chooseLevel(d) { const l = inner.chooseLevel(d); pending = `#${d.segmentIndex} buf ${d.bufferSec.toFixed(1)} est ${((inner.bandwidthEstimate() ?? 0)/1e6).toFixed(2)} → ${l}`; return l; },
      onDownloaded(s) { inner.onDownloaded(s); log.push(`${pending} dl L${s.level} ${s.durationSec.toFixed(1)}s ${(s.bits/s.durationSec/1e6).toFixed(2)}Mbps`); },
      onProgress(p) { const r = inner.onProgress?.(p) ?? null; if (r !== null) pending += ` [abandon L${p.level}@${p.elapsedSec.toFixed(1)}s buf ${p.bufferSec.toFixed(1)} → ${r}]`; return r; },
      bandwidthEstimate: () => inner.bandwidthEstimate(),
    };
    const r = simulateSession(trace, c, options);
    console.log(`== ${trace.family}/${trace.name} ${inner.name}: QoE ${r.metrics.qoeLin.toFixed(1)} stall ${r.metrics.rebufferSec.toFixed(1)} levels ${r.levels.join('')}`);
    if (process.argv[4] !== 'quiet') for (const l of log) console.log('  ' + l);
  }
}
