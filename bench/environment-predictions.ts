// The model's side of the unseen-environment evaluation (issue 13): predicting each held-out
// environment's mean profile by decoding `--samples` (default 256) prior samples. Reference (same
// run, same model, timed first): the previous path, many environments per pass with the decoder's
// output layer on every sample, then the mean (`decodeEverySample`); current: the default, the
// output layer once per environment on its mean hidden activation. Their largest difference is printed.
//   npm run bench:environment-predictions -- [--environments 2000] [--epochs 1] [--samples 256] [--genes 978]
//
// Model: an env-vae with default sizes trained on the first-start demo dataset's design with
// `--genes` genes (978 = L1000 landmarks); its environment vectors are cycled up to
// `--environments` (the cost per environment does not depend on which).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainedModel } from '../src-main/node/analysis/trained-model.js';
import { presetDemo } from '../src-main/node/data/synthetic.js';
import { importSyntheticConfig } from '../src-main/node/lab/import/synthetic.js';
import { closeLab, openLab } from '../src-main/node/lab/open.js';
import { TrainingConfig } from '../src-main/shared/api/training.js';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} needs an integer ≥ 1, got "${process.argv[at + 1]}"`);
  return value;
}

const environments = option('--environments', 2000);
const epochs = option('--epochs', 1);
const samples = option('--samples', 256);
const genes = option('--genes', 978);
const dir = mkdtempSync(join(tmpdir(), 'cellshift-bench-predictions-'));
const lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: false });
try {
  const datasetId = importSyntheticConfig(
    lab.store,
    { ...presetDemo(0), nGenes: genes },
    { name: `Bench: demo with ${genes} genes`, description: 'bench/environment-predictions.ts', preset: 'demo' },
  ).id;
  const config = TrainingConfig.parse({
    model: { family: 'env-vae' },
    epochs,
    validation: { kind: 'random-environments', fraction: 0.25, seed: 1 },
  });
  const run = lab.training.start(datasetId, config);
  await lab.training.settled(run.id);
  const model = await TrainedModel.load(lab.store, run.id);
  const width = model.data.environmentWidth;
  const known = model.data.environmentKeys.length;
  const vectors = Array.from({ length: environments }, (_, k) => {
    const e = k % known;
    return model.data.environmentInputs.slice(e * width, (e + 1) * width);
  });
  console.log(
    `bench:environment-predictions — env-vae (latent ${model.latentDim}, hidden ${config.model.hiddenUnits}), ${model.data.nGenes} genes, ` +
      `${environments} environments (${known} distinct), ${samples} samples each; load average ${loadavg()[0]?.toFixed(1)} at start`,
  );
  const timedPredictions = (label: string, predict: () => Float32Array[]) => {
    const start = performance.now();
    const out = predict();
    const seconds = (performance.now() - start) / 1000;
    console.log(
      `  ${label.padEnd(48)} ${seconds.toFixed(2).padStart(8)} s  (${((seconds / environments) * 1000).toFixed(2)} ms per environment)`,
    );
    return { out, seconds };
  };
  const reference = timedPredictions('reference: tfjs tiling, every sample decoded', () =>
    model.predictEnvironmentMeans(vectors, samples, 0, { decodeEverySample: true }),
  );
  const current = timedPredictions('current: output layer on the mean hidden', () => model.predictEnvironmentMeans(vectors, samples));
  let largest = 0;
  reference.out.forEach((r, k) => {
    r.forEach((v, g) => {
      largest = Math.max(largest, Math.abs(v - (current.out[k]?.[g] as number)));
    });
  });
  console.log(
    `  ${(reference.seconds / current.seconds).toFixed(1)}× faster; largest difference ${largest.toExponential(2)}; load average ${loadavg()[0]?.toFixed(1)} at end`,
  );
  model.dispose();
} finally {
  await closeLab(lab);
  rmSync(dir, { recursive: true, force: true });
}
