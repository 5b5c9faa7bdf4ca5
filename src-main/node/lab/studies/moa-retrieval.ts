// Does the model's latent space group drugs by mechanism better than raw expression or structure?
// On an imported dataset whose drugs carry a known MoA: train Environment VAEs (one per trial) and
// compare the mean average precision of same-MoA neighbours by prior shift, measured change from
// control and Morgan fingerprint, next to a random ranking.

import { LabError } from '../../../shared/api/errors.js';
import type { MoaRetrievalResult } from '../../../shared/api/mechanism.js';
import { retrievalVerdict } from '../../analysis/mechanism-operations.js';
import { format, mean, requireDataset, type StudyBody, train } from './common.js';

const METHODS = ['prior shift', 'measured Δ', 'fingerprint'] as const;

export const moaRetrievalStudy: StudyBody = async (context) => {
  const given = context.options.datasetId;
  if (!given)
    throw new LabError(
      'invalid_params',
      'The MoA retrieval study needs --dataset ID: a dataset whose drugs carry a known MoA (a moa column)',
    );
  const datasetId = requireDataset(context, given);
  const quick = context.options.quick;
  const trials = context.options.trials ?? (quick ? 1 : 3);
  const epochs = context.options.epochs ?? (quick ? 3 : 30);
  const results: MoaRetrievalResult[] = [];
  for (let trial = 0; trial < trials; trial++) {
    context.progress(trial / trials, `trial ${trial + 1} of ${trials}: training an Environment VAE`);
    const run = await train(
      context,
      datasetId,
      {
        model: { family: 'env-vae', hiddenUnits: quick ? 32 : 256, latentDim: quick ? 8 : 64 },
        epochs,
        batchSize: 128,
        seed: context.options.seed + trial,
      },
      trial,
      'MoA retrieval',
    );
    if (run.status !== 'completed') continue;
    const result = await context.lab.analysis.run('moaRetrieval', { runId: run.id });
    if (result.annotated === 0)
      throw new LabError('bad_input', 'No drug of this dataset has a known MoA (moa column): there is nothing to retrieve');
    results.push(result);
  }
  const summary = METHODS.map((method) => {
    const maps = results.flatMap((r) => r.scores.filter((s) => s.method === method && s.map !== null).map((s) => s.map as number));
    const chance = results.flatMap((r) => r.scores.filter((s) => s.method === method && s.chance !== null).map((s) => s.chance as number));
    const m = mean(maps);
    const std = maps.length > 1 ? Math.sqrt(maps.reduce((a, v) => a + (v - m) ** 2, 0) / (maps.length - 1)) : 0;
    return { method, map: maps.length ? m : null, std, chance: chance.length ? mean(chance) : null, n: maps.length };
  });
  const first = results[0];
  return {
    table: [
      ...summary.map((s) => ({
        quantity: `mAP of same-MoA neighbours by ${s.method}`,
        seedObserved: 'not studied in the seed',
        measured:
          s.map === null
            ? 'not available'
            : `${format(s.map)} ± ${format(s.std, 2)} over ${s.n} trial(s); random ranking ${format(s.chance ?? Number.NaN)}`,
      })),
      {
        quantity: 'verdict',
        seedObserved: '—',
        measured: retrievalVerdict(summary.map((s) => ({ method: s.method, map: s.map, chance: s.chance }))),
      },
      {
        quantity: 'drugs with a known MoA',
        seedObserved: '—',
        measured: first ? `${first.annotated} of ${first.drugs} drug environments` : 'no run completed',
      },
    ],
    figures: [
      {
        id: 'moa-retrieval-map',
        title: 'Mean average precision of same-MoA neighbours (mean ± std over trials)',
        kind: 'bar',
        categories: [...METHODS],
        xLabel: 'description of a drug',
        yLabel: 'mAP',
        series: [
          {
            label: 'mAP',
            points: summary.flatMap((s, x) => (s.map === null ? [] : [{ x, y: s.map }])),
            band: summary.flatMap((s, x) => (s.map === null ? [] : [{ x, low: s.map - s.std, high: s.map + s.std }])),
          },
          { label: 'random ranking', points: summary.flatMap((s, x) => (s.chance === null ? [] : [{ x, y: s.chance }])) },
        ],
      },
    ],
  };
};
