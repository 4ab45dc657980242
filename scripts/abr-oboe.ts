/**
 * `npm run abr:oboe -- [--traces DIR] --train [--train-options '{...}']`: learn the Oboe-style auto-tuner's table
 * (abr/lab/models/oboe-map.ts) from the training half of the shared traces (abr/lab/train/oboe-train.ts; even
 * positions within each family, `splitTraces`).
 * `npm run abr:oboe -- [--traces DIR] --eval [--half train|test] [--rotations N] [--baselines] [--oboe '{...}']`: the
 * auto-tuned controller next to the shipped `platform` (and the baselines) on the same traces, per family ratio /
 * headroom / Σ stall s (rebuffer %) [mean QoE_lin], and how long each candidate was active. Deterministic
 * (docs/abr.md, "Oboe-style auto-tuning").
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createOboeController, OBOE_CANDIDATES, type OboeParams } from '../abr/lab/controllers/oboe';
import { OBOE_MAP, type OboeMap } from '../abr/lab/models/oboe-map';
import { defaultSimOptions } from '../abr/lab/sim/cli';
import { simulateRun } from '../abr/lab/sim/simulator';
import { loadTraceDir, type Trace } from '../abr/lab/sim/traces';
import { mapModule, synthesise, trainMap, TRAIN_OPTIONS, type TrainOptions } from '../abr/lab/train/oboe-train';
import { rotateTraces, scoreRow, splitTraces, tuneBaselines, tuneControllers, type RowScore } from '../abr/lab/train/tune';
import { createPlatformController } from '../abr/platform';
import { PLATFORM_MEDIA } from './abr-media';

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(name);
const valueOf = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const root = path.resolve(valueOf('--traces') ?? path.resolve(import.meta.dirname, '../../shared/traces'));
const { traces } = loadTraceDir(root);
const options = defaultSimOptions(PLATFORM_MEDIA);
const { stream } = options;
/** `--train-options '{...}'`: TRAIN_OPTIONS overrides (augmentation: scales, rotations), for --train and --loto alike. */
const trainOptions: TrainOptions = { ...TRAIN_OPTIONS, ...(JSON.parse(valueOf('--train-options') ?? '{}') as Partial<TrainOptions>) };

if (flag('--train')) {
  const { train } = splitTraces(traces);
  const started = Date.now();
  const map = trainMap(train, options, trainOptions, (line) => console.error(line));
  const out = path.resolve(import.meta.dirname, '../abr/lab/models/oboe-map.ts');
  writeFileSync(out, mapModule(map, `npm run abr:oboe -- --train${valueOf('--train-options') ? ` --train-options '${valueOf('--train-options')}'` : ''}`));
  console.log(`trained on ${train.length} training traces → ${map.entries.length} synthetic runs in ${((Date.now() - started) / 1000).toFixed(0)} s; wrote ${out}`);
  console.log(`feature scales ${JSON.stringify(map.scales)}`);
}

if (flag('--eval')) {
  const half = valueOf('--half');
  if (half !== undefined && half !== 'train' && half !== 'test') throw new Error(`--half must be train or test, not ${half}`);
  const rotations = Number(valueOf('--rotations') ?? 1);
  if (!Number.isInteger(rotations) || rotations < 1) throw new Error(`--rotations must be a positive integer`);
  // --oboe '{...}' or '[{...}, …]': auto-tuner settings (OBOE_PARAMS overrides), one row each; the first one's
  // active-setting shares are printed.
  const parsed = JSON.parse(valueOf('--oboe') ?? '{}') as Partial<OboeParams> | Array<Partial<OboeParams>>;
  const variants = Array.isArray(parsed) ? parsed : [parsed];
  const oboe = variants[0] ?? {};
  // --loto (with --half train): leave one training trace out — each trace is played with the table minus the entries
  // synthesised from it (trainMap writes them in training-trace order, `synthesise(trace).length` each), an honest
  // score on the training half for choosing the auto-tuner's own settings without the held-out half.
  const loto = flag('--loto');
  if (loto && half !== 'train') throw new Error('--loto needs --half train');
  const ranges = new Map<string, [number, number]>();
  let offset = 0;
  for (const t of splitTraces(traces).train) {
    const count = synthesise(t, trainOptions).length;
    ranges.set(t.name, [offset, offset + count]);
    offset += count;
  }
  if (loto && offset !== OBOE_MAP.entries.length) throw new Error(`the table has ${OBOE_MAP.entries.length} entries, the training half synthesises ${offset}: retrain`);
  const mapFor = (trace: Trace): OboeMap => {
    const range = loto ? ranges.get(trace.name.replace(/@\d+$/, '')) : undefined;
    return range ? { ...OBOE_MAP, entries: OBOE_MAP.entries.filter((_, i) => i < range[0] || i >= range[1]) } : OBOE_MAP;
  };
  const picked = rotateTraces(half ? splitTraces(traces)[half] : traces, rotations);
  console.log(`eval on ${picked.length} runs (${half ?? 'all traces'}, ${rotations} rotation(s)): ratio / headroom / Σ stall s (rebuffer %) [mean QoE_lin]`);
  const rows = [
    ...(flag('--baselines') ? tuneBaselines(picked, options) : []),
    ...tuneControllers(picked, options, [
      { name: 'platform', create: () => createPlatformController(stream) },
      ...variants.map((v) => ({ name: `platform-oboe ${JSON.stringify(v)}`, create: (trace: Trace) => createOboeController(stream, { oboe: v, map: mapFor(trace) }) })),
    ]),
  ];
  const cell = (v: RowScore): string =>
    `${Number.isFinite(v.ratio) ? v.ratio.toFixed(3) : '-'} / ${v.headroom.toFixed(3)} / ${v.rebufferSec.toFixed(0)} (${(100 * v.rebufferRatio).toFixed(2)} %) [${v.meanQoe.toFixed(1)}]`;
  for (const row of rows) console.log(`  ${row.controller}: ${Object.entries(scoreRow(row)).map(([f, v]) => `${f} ${cell(v)}`).join('; ')}`);
  // Which setting ran, per family: share of decisions made by each candidate.
  const share = new Map<string, number[]>();
  for (const trace of picked) {
    const controller = createOboeController(stream, { oboe, map: mapFor(trace) });
    const counts = share.get(trace.family) ?? OBOE_CANDIDATES.map(() => 0);
    const counting = { ...controller, chooseLevel: (d: Parameters<typeof controller.chooseLevel>[0]) => { counts[controller.active()]! += 1; return controller.chooseLevel(d); } };
    simulateRun(trace, counting, options);
    share.set(trace.family, counts);
  }
  for (const [family, counts] of [...share].sort()) {
    const total = counts.reduce((a, b) => a + b, 0);
    console.log(`  active setting, ${family}: ${OBOE_CANDIDATES.map((c, i) => `${c.name} ${((100 * (counts[i] ?? 0)) / total).toFixed(0)} %`).join(', ')}`);
  }
}
