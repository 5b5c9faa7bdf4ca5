// The issue's end-to-end target: a 200-epoch Environment VAE on 15k samples × 978 genes in under
// 10 minutes. Trains with the product's Trainer (validation on held-out samples every epoch and a
// checkpoint per epoch included) and prints time, live tensors and RSS per epoch:
//   node --import tsx bench/env-vae-epochs.ts [--backend native-blas|wasm|cpu] [--epochs 200] [--batch 256]
// With fewer epochs it also prints the extrapolated 200-epoch time.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src-main/node/data/random.js';
import { selectBackend } from '../src-main/node/ml/backend.js';
import { createModule } from '../src-main/node/ml/modules/index.js';
import { registerNativeBackend } from '../src-main/node/ml/native/index.js';
import { patchWasmTransposedMatMul } from '../src-main/node/ml/native/wasm-matmul.js';
import { Trainer } from '../src-main/node/ml/trainer.js';
import { ModelConfig, TrainingConfig } from '../src-main/shared/api/training.js';
import { dims, HIDDEN, LATENT, randomTrainingData } from './lib.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? (args[i + 1] as string) : fallback;
};
const backend = option('backend', 'native-blas');
const epochs = Number(option('epochs', '200'));
const batchSize = Number(option('batch', '256'));
const SAMPLES = 15_000;

if (backend === 'native-blas') {
  const status = registerNativeBackend();
  if (!status.ok) throw new Error(status.why);
  await tf.setBackend('native-blas');
} else {
  await selectBackend({ prefer: backend as 'wasm' | 'cpu' });
  if (backend === 'wasm') patchWasmTransposedMatMul(true);
}

// 15k samples over 120 environments; 20% of the environments held out for validation.
const data = randomTrainingData(SAMPLES, 120, 11);
const heldOut = (i: number) => (data.environmentOfSample[i] as number) % 5 === 0;
const all = Array.from({ length: SAMPLES }, (_, i) => i);
data.trainIndices = Int32Array.from(all.filter((i) => !heldOut(i)));
data.validationIndices = Int32Array.from(all.filter(heldOut));

const config = TrainingConfig.parse({
  model: ModelConfig.parse({ family: 'env-vae', hiddenUnits: HIDDEN, latentDim: LATENT }),
  batchSize,
  epochs,
  validation: { kind: 'none' }, // the split is made above; the trainer only reads the indices
});
const module = createModule(config.model, dims(data), new Rng(config.seed).fork('init'));
const trainer = new Trainer(module, data, config);
console.log(
  `env-vae on ${backend}: ${data.trainIndices.length} training + ${data.validationIndices.length} validation samples, batch ${batchSize}, ${epochs} epochs`,
);
const started = performance.now();
let last = started;
await trainer.run({
  onEpoch(report) {
    const now = performance.now();
    const rss = process.memoryUsage().rss / 2 ** 20;
    if (report.epoch <= 3 || report.epoch % 10 === 0 || report.epoch === epochs) {
      console.log(
        `  epoch ${report.epoch}: ${((now - last) / 1000).toFixed(2)} s (train ${Math.round(report.samplesPerSecond)} samples/s), ` +
          `loss ${report.train.loss?.toFixed(2)}, val loss ${report.validation?.loss?.toFixed(2)}, tensors ${report.numTensors}, RSS ${rss.toFixed(0)} MB`,
      );
    }
    last = now;
  },
});
const seconds = (performance.now() - started) / 1000;
console.log(
  `${epochs} epochs in ${seconds.toFixed(1)} s${epochs < 200 ? `; 200 epochs ≈ ${((seconds / epochs) * 200).toFixed(0)} s` : ''}`,
);
trainer.dispose();
module.dispose();
