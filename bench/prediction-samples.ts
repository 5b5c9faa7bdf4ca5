// How many prior samples the model's unseen-environment predictions need (issue 13): each held-out
// environment's prediction is the mean decoding of S latents drawn from its prior, so its score
// carries Monte-Carlo error. On real L1000 data (PRnet's HT115 Level 3 demo, 354 drugs, read from
// ../shared at run time), an env-vae is trained with held-out drugs, then the held-out environments
// are predicted with S = 32, 64, 128, 256 under `--seeds` noise seeds each, and scored as the
// evaluation scores them. Reference: S = 4,096 (one seed). Printed per S: each score's mean and
// standard deviation across seeds, its largest distance from the reference's, the predictions'
// RMS distance from the reference relative to the RMS of the predicted change from control, and
// the time per environment.
//   npm run bench:prediction-samples -- [--epochs 40] [--seeds 6]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainedModel } from '../src-main/node/analysis/trained-model.js';
import { type MethodScore, unseenProblemOf } from '../src-main/node/analysis/unseen.js';
import { closeLab, openLab } from '../src-main/node/lab/open.js';
import { TrainingConfig } from '../src-main/shared/api/training.js';
import { missingShared, sharedFile } from '../test/fixtures/shared.js';
import { waitForJob } from '../test/integration/jobs.js';
import { flagOptions } from './options.js';

const PRNET = 'fixtures/real-l1000/PRnet_demo_HT115_6H_level3_n681x978.h5ad';
const SAMPLE_COUNTS = [32, 64, 128, 256];
const REFERENCE_SAMPLES = 4096;
const SCORES = ['r2', 'r2Top50', 'pearsonDelta', 'directionTop50', 'r2DeltaTop50', 'pearsonDeltaTop50'] as const;

const flags = flagOptions('bench:prediction-samples');
const options = { epochs: flags.int('--epochs', 40), seeds: flags.int('--seeds', 6, 2) };
const skip = missingShared(PRNET);
if (skip) {
  console.log(`bench:prediction-samples skipped: ${skip}`);
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'cellshift-bench-samples-'));
const lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: false });
try {
  const { jobId } = await lab.imports.start(
    await lab.imports.requestFromPaths({ matrixPath: sharedFile(PRNET) as string, environmentKey: 'drug+cell' }),
  );
  const imported = await waitForJob(lab, jobId);
  if (!imported.ok) throw new Error(`importing PRnet failed: ${imported.message}`);
  const datasetId = (imported.result as { id: string }).id;
  const config = TrainingConfig.parse({
    model: { family: 'env-vae' },
    epochs: options.epochs,
    validation: { kind: 'held-out-drugs', fraction: 0.2, seed: 1 },
  });
  const run = lab.training.start(datasetId, config);
  await lab.training.settled(run.id);
  const model = await TrainedModel.load(lab.store, run.id);
  const problem = unseenProblemOf(model);
  const held = problem.heldOut;
  const inputs = held.map((e) => problem.input(e));
  const position = new Map(held.map((e, k) => [e, k]));
  console.log(
    `bench:prediction-samples — PRnet HT115 Level 3, env-vae (latent ${model.latentDim}, hidden ${config.model.hiddenUnits}), ` +
      `${options.epochs} epochs, ${held.length} held-out environments (held-out drugs), ${model.data.nGenes} genes, ` +
      `${options.seeds} seeds per sample count; load average ${loadavg()[0]?.toFixed(1)} at start`,
  );
  const scoreOf = (predictions: Float32Array[]) => problem.score((e) => predictions[position.get(e) as number] as Float32Array).mean;
  const reference = model.predictEnvironmentMeans(inputs, REFERENCE_SAMPLES, 1_000_000);
  const referenceScore = scoreOf(reference);
  console.log(`  reference, ${REFERENCE_SAMPLES} samples: ${SCORES.map((k) => `${k} ${referenceScore[k].toFixed(4)}`).join(', ')}`);
  // The scale the Monte-Carlo error is compared with: how far the predictions move from control.
  let changeSquares = 0;
  let values = 0;
  for (const [k, e] of held.entries()) {
    const control = problem.control(e);
    (reference[k] as Float32Array).forEach((v, g) => {
      changeSquares += (v - (control[g] as number)) ** 2;
      values++;
    });
  }
  const changeRms = Math.sqrt(changeSquares / values);
  for (const samples of SAMPLE_COUNTS) {
    const scores: Omit<MethodScore, 'method'>[] = [];
    let squares = 0;
    let seconds = 0;
    for (let seed = 0; seed < options.seeds; seed++) {
      const start = performance.now();
      const predictions = model.predictEnvironmentMeans(inputs, samples, seed);
      seconds += (performance.now() - start) / 1000;
      scores.push(scoreOf(predictions));
      predictions.forEach((p, k) => {
        p.forEach((v, g) => {
          squares += (v - ((reference[k] as Float32Array)[g] as number)) ** 2;
        });
      });
    }
    const rms = Math.sqrt(squares / (values * options.seeds));
    const summary = SCORES.map((key) => {
      const list = scores.map((s) => s[key]);
      const mean = list.reduce((a, b) => a + b, 0) / list.length;
      const sd = Math.sqrt(list.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, list.length - 1));
      const worst = Math.max(...list.map((v) => Math.abs(v - referenceScore[key])));
      return `${key} ${mean.toFixed(4)} ± ${sd.toFixed(4)} (≤ ${worst.toFixed(4)} from ref.)`;
    });
    console.log(
      `  ${String(samples).padStart(4)} samples: prediction RMS error ${rms.toExponential(2)} = ${((100 * rms) / changeRms).toFixed(2)} % ` +
        `of the predicted change's RMS; ${((seconds / (options.seeds * held.length)) * 1000).toFixed(2)} ms per environment\n      ${summary.join('\n      ')}`,
    );
  }
  console.log(`  load average ${loadavg()[0]?.toFixed(1)} at end`);
  model.dispose();
} finally {
  await closeLab(lab);
  rmSync(dir, { recursive: true, force: true });
}
