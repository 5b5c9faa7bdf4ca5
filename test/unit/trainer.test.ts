// The training loop in-process on the WebAssembly backend: the divergence guard, cancel and
// pause, determinism, exact resume from a checkpoint (Adam state, batch and noise streams), no
// tensor leaks, and that every family actually learns on the seed's nonlinear study (§6.4).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src-main/node/data/random.js';
import { importSyntheticPreset } from '../../src-main/node/lab/import/synthetic.js';
import { selectBackend } from '../../src-main/node/ml/backend.js';
import { packArrays, unpackArrays } from '../../src-main/node/ml/checkpoint.js';
import { type Batch, createModule, type GenerativeModule, type LossContext, type LossTerms } from '../../src-main/node/ml/modules/index.js';
import type { Encoding } from '../../src-main/node/ml/modules/module.js';
import {
  type Checkpoint,
  type Control,
  type EpochReport,
  type StepReport,
  Trainer,
  type TrainerCallbacks,
} from '../../src-main/node/ml/trainer.js';
import { prepareTrainingData, type TrainingData } from '../../src-main/node/ml/training-data.js';
import { Store } from '../../src-main/node/store/store.js';
import { type ModelConfigInput, type ModelFamily, TrainingConfig, type TrainingConfigInput } from '../../src-main/shared/api/training.js';

const FAMILIES: readonly ModelFamily[] = ['vae', 'cvae', 'env-vae', 'translation-vae', 'adversarial-prior-ae'];
const HELD_OUT = { kind: 'metadata', column: 'split', validationValues: ['validation'] } as const;
const SMALL_MODEL = { hiddenUnits: 32, latentDim: 5 } as const;

let store: Store;
let datasetId = '';
const dataCache = new Map<string, TrainingData>();

before(async () => {
  await selectBackend({ prefer: 'wasm' });
  store = Store.open(':memory:');
  // Seed §6.4: 5 latents, 50 ReLU-net genes, 5 training + 5 unseen validation environments, 500 samples each.
  datasetId = importSyntheticPreset(store, { preset: 'nonlinear-5', seed: 0 }).id;
});

after(() => {
  store?.close();
});

function configOf(model: ModelConfigInput, overrides: Omit<TrainingConfigInput, 'model'> = {}): TrainingConfig {
  return TrainingConfig.parse({ model: { ...SMALL_MODEL, ...model }, validation: HELD_OUT, ...overrides });
}

function dataFor(config: TrainingConfig): TrainingData {
  // The data depend only on the split, standardisation and environment encoding.
  const key = JSON.stringify([config.validation, config.standardize, config.model.environmentEncoding]);
  let data = dataCache.get(key);
  if (!data) {
    data = prepareTrainingData(store.datasets.trainingView(datasetId), config, (column) => store.datasets.sampleColumn(datasetId, column));
    dataCache.set(key, data);
  }
  return data;
}

function moduleFor(config: TrainingConfig, data: TrainingData): GenerativeModule {
  return createModule(
    config.model,
    { genes: data.nGenes, environment: data.environmentWidth, environmentClasses: data.environmentClasses },
    new Rng(config.seed).fork('init'),
  );
}

interface Setup {
  config: TrainingConfig;
  data: TrainingData;
  module: GenerativeModule;
  trainer: Trainer;
  dispose(): void;
}

function setup(config: TrainingConfig, wrap: (m: GenerativeModule) => GenerativeModule = (m) => m): Setup {
  const data = dataFor(config);
  const module = wrap(moduleFor(config, data));
  const trainer = new Trainer(module, data, config);
  return {
    config,
    data,
    module,
    trainer,
    dispose() {
      trainer.dispose();
      module.dispose();
    },
  };
}

/** Records everything the trainer reports. */
function recorder(extra: Partial<TrainerCallbacks> = {}) {
  const epochs: EpochReport[] = [];
  const checkpoints: Checkpoint[] = [];
  const steps: StepReport[] = [];
  const callbacks: TrainerCallbacks = {
    ...extra,
    onStep: (report) => {
      steps.push(report);
      extra.onStep?.(report);
    },
    onEpoch: async (report, checkpoint) => {
      epochs.push(report);
      checkpoints.push(checkpoint);
      await extra.onEpoch?.(report, checkpoint);
    },
  };
  return { epochs, checkpoints, steps, callbacks };
}

/**
 * A real module whose training loss is altered from a given call on (each call to loss() is one
 * optimiser step when there is no validation split). The alteration is added to the loss, so the
 * gradients stay those of the real module.
 */
class SabotagedModule implements GenerativeModule {
  calls = 0;
  constructor(
    readonly inner: GenerativeModule,
    readonly fromCall: number,
    readonly addend: number,
  ) {}
  get family() {
    return this.inner.family;
  }
  get config() {
    return this.inner.config;
  }
  get dims() {
    return this.inner.dims;
  }
  get params() {
    return this.inner.params;
  }
  get adversary() {
    return this.inner.adversary;
  }
  loss(batch: Batch, context: LossContext): LossTerms {
    this.calls++;
    const terms = this.inner.loss(batch, context);
    if (this.calls < this.fromCall) return terms;
    return { total: tf.add(terms.total, this.addend) as tf.Scalar, terms: terms.terms };
  }
  encode(x: tf.Tensor2D, e: tf.Tensor2D): Encoding {
    return this.inner.encode(x, e);
  }
  decode(z: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return this.inner.decode(z, e);
  }
  decodeMeans(z: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return this.inner.decodeMeans(z, e);
  }
  reconstruct(x: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return this.inner.reconstruct(x, e);
  }
  dispose(): void {
    this.inner.dispose();
  }
}

function parameterValues(module: GenerativeModule): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of module.params.named()) out.set(name, v.dataSync() as Float32Array);
  for (const [name, v] of module.adversary?.named() ?? []) out.set(`adversary:${name}`, v.dataSync() as Float32Array);
  return out;
}

function relativeDifference(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1e-6, Math.abs(a), Math.abs(b));
}

// No validation split: 5000 training samples, batch 500 → exactly 10 steps per epoch, and
// loss() is called only by optimiser steps.
const TEN_STEPS = { validation: { kind: 'none' }, batchSize: 500 } as const;

describe('divergence guard', () => {
  test('a NaN loss stops the run as diverged, naming epoch and step, keeping the last good epoch', async () => {
    const config = configOf({ family: 'env-vae' }, { ...TEN_STEPS, epochs: 5 });
    // Call 25 = epoch 3, step 25.
    const s = setup(config, (m) => new SabotagedModule(m, 25, Number.NaN));
    const r = recorder();
    const outcome = await s.trainer.run(r.callbacks);
    s.dispose();
    assert.equal(outcome.status, 'diverged');
    assert.ok(outcome.status === 'diverged');
    assert.equal(outcome.epochsDone, 2);
    assert.equal(outcome.lastGoodEpoch, 2);
    assert.match(outcome.message, /NaN/);
    assert.match(outcome.message, /epoch 3, step 25\b/);
    assert.match(outcome.message, /checkpoint of epoch 2 is kept/);
    assert.deepEqual(
      r.epochs.map((e) => e.epoch),
      [1, 2],
      'onEpoch must never see the bad epoch',
    );
    assert.deepEqual(
      r.checkpoints.map((c) => c.epoch),
      [1, 2],
    );
    assert.equal(r.steps.at(-1)?.step, 24, 'the bad step is not reported as progress');
    assert.equal(s.trainer.epochsDone, 2);
  });

  test('a NaN in the first epoch reports that no epoch completed', async () => {
    const config = configOf({ family: 'vae' }, { ...TEN_STEPS, epochs: 3 });
    const s = setup(config, (m) => new SabotagedModule(m, 4, Number.NaN));
    const r = recorder();
    const outcome = await s.trainer.run(r.callbacks);
    s.dispose();
    assert.ok(outcome.status === 'diverged', `outcome ${JSON.stringify(outcome)}`);
    assert.equal(outcome.lastGoodEpoch, null);
    assert.equal(outcome.epochsDone, 0);
    assert.match(outcome.message, /epoch 1, step 4\b/);
    assert.match(outcome.message, /no epoch had completed/);
    assert.equal(r.epochs.length, 0);
  });

  test('an exploding but finite loss (above divergenceFactor × best epoch loss) stops the run', async () => {
    const config = configOf({ family: 'translation-vae' }, { ...TEN_STEPS, epochs: 5, divergenceFactor: 1e4 });
    // Best epoch loss here is ~20-30, so +1e9 is far above 1e4 × best, and still finite.
    const s = setup(config, (m) => new SabotagedModule(m, 33, 1e9));
    const r = recorder();
    const outcome = await s.trainer.run(r.callbacks);
    s.dispose();
    assert.ok(outcome.status === 'diverged', `outcome ${JSON.stringify(outcome)}`);
    assert.match(outcome.message, /exploded/);
    assert.match(outcome.message, /epoch 4, step 33\b/);
    assert.equal(outcome.lastGoodEpoch, 3);
    assert.deepEqual(
      r.epochs.map((e) => e.epoch),
      [1, 2, 3],
    );
    const best = Math.min(...r.epochs.map((e) => e.train.loss as number));
    assert.ok(best > 1 && best < 1e3, `best epoch loss ${best}`);
  });

  test('a loss below the divergence threshold does not trip the guard', async () => {
    // +1e3 is large but below 1e4 × best epoch loss.
    const config = configOf({ family: 'translation-vae' }, { ...TEN_STEPS, epochs: 4 });
    const s = setup(config, (m) => new SabotagedModule(m, 15, 1e3));
    const outcome = await s.trainer.run(recorder().callbacks);
    s.dispose();
    assert.deepEqual(outcome, { status: 'completed', epochsDone: 4 });
  });
});

describe('control', () => {
  test("control() returning 'cancel' stops with status cancelled and the completed epochs", async () => {
    const config = configOf({ family: 'vae' }, { ...TEN_STEPS, epochs: 5 });
    const s = setup(config);
    let polls = 0;
    // Polled once before each step: the 16th poll is before step 16 (epoch 2, batch 6).
    const r = recorder({ control: () => (++polls >= 16 ? 'cancel' : 'run') });
    const outcome = await s.trainer.run(r.callbacks);
    s.dispose();
    assert.deepEqual(outcome, { status: 'cancelled', epochsDone: 1 });
    assert.equal(r.steps.length, 15, 'no step after the cancel');
    assert.deepEqual(
      r.epochs.map((e) => e.epoch),
      [1],
    );
  });

  test('pause holds training until waitWhilePaused says run, then it completes unchanged', async () => {
    const config = configOf({ family: 'env-vae' }, { ...TEN_STEPS, epochs: 3 });
    const log: string[] = [];
    let state: Control = 'run';
    let waits = 0;
    const paused = setup(config);
    const r = recorder({
      control: () => state,
      waitWhilePaused: async () => {
        waits++;
        log.push(`wait ${waits}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
        if (waits === 3) state = 'run';
        return state;
      },
      onStep: (report) => {
        log.push(`step ${report.step}`);
        if (report.step === 12) state = 'pause';
      },
    });
    const outcome = await paused.trainer.run(r.callbacks);
    const pausedParameters = parameterValues(paused.module);
    paused.dispose();
    assert.deepEqual(outcome, { status: 'completed', epochsDone: 3 });
    assert.equal(waits, 3);
    assert.deepEqual(log.slice(log.indexOf('step 12'), log.indexOf('step 12') + 5), ['step 12', 'wait 1', 'wait 2', 'wait 3', 'step 13']);
    assert.equal(r.steps.length, 30);

    // Pausing changes nothing about the result.
    const straight = setup(config);
    const s = recorder();
    await straight.trainer.run(s.callbacks);
    const straightParameters = parameterValues(straight.module);
    straight.dispose();
    assert.deepEqual(
      r.epochs.map((e) => e.train.loss),
      s.epochs.map((e) => e.train.loss),
    );
    for (const [name, values] of straightParameters) assert.deepEqual(pausedParameters.get(name), values, name);
  });

  test('a cancel while paused ends the run as cancelled', async () => {
    const config = configOf({ family: 'vae' }, { ...TEN_STEPS, epochs: 3 });
    const s = setup(config);
    let steps = 0;
    const r = recorder({
      control: () => (steps >= 3 ? 'pause' : 'run'),
      waitWhilePaused: async () => 'cancel',
      onStep: () => {
        steps++;
      },
    });
    const outcome = await s.trainer.run(r.callbacks);
    s.dispose();
    assert.deepEqual(outcome, { status: 'cancelled', epochsDone: 0 });
    assert.equal(r.steps.length, 3);
  });
});

describe('reproducibility', () => {
  test('two trainers with the same config and seed give identical epoch losses; another seed does not', async () => {
    const losses = async (seed: number) => {
      const s = setup(configOf({ family: 'env-vae' }, { epochs: 3, batchSize: 128, seed }));
      const r = recorder();
      await s.trainer.run(r.callbacks);
      s.dispose();
      return r.epochs.map((e) => [e.train.loss, e.validation?.loss, e.validation?.mse]);
    };
    const first = await losses(1);
    const second = await losses(1);
    const other = await losses(2);
    assert.deepEqual(second, first);
    assert.notDeepEqual(other, first);
  });

  for (const family of FAMILIES) {
    test(`${family}: k epochs, checkpoint, restore into a fresh module and trainer, finish = training straight through`, async () => {
      const epochs = 4;
      const k = 2;
      const config = configOf({ family }, { epochs, batchSize: 128, seed: 5 });

      const straight = setup(config);
      const s = recorder();
      assert.deepEqual(await straight.trainer.run(s.callbacks), { status: 'completed', epochsDone: epochs });
      const straightParameters = parameterValues(straight.module);
      straight.dispose();

      // First part: stop (as a cancel would) once epoch k is recorded, keeping its checkpoint.
      const first = setup(config);
      const f = recorder({ control: () => (f.epochs.length >= k ? 'cancel' : 'run') });
      assert.deepEqual(await first.trainer.run(f.callbacks), { status: 'cancelled', epochsDone: k });
      const stored = f.checkpoints[k - 1] as Checkpoint;
      assert.equal(stored.epoch, k);
      // Through the byte format, as the worker stores it in SQLite.
      const bytes = packArrays(stored.arrays);
      first.dispose();

      const second = setup(config);
      await second.trainer.restore({ epoch: stored.epoch, step: stored.step, arrays: unpackArrays(bytes) });
      assert.equal(second.trainer.epochsDone, k);
      const r = recorder();
      assert.deepEqual(await second.trainer.run(r.callbacks), { status: 'completed', epochsDone: epochs });
      const resumedParameters = parameterValues(second.module);
      second.dispose();

      assert.deepEqual(
        r.epochs.map((e) => e.epoch),
        [3, 4],
      );
      assert.deepEqual(
        r.steps.map((x) => x.step),
        s.steps.slice(k * (s.steps.length / epochs)).map((x) => x.step),
        'the step counter continues',
      );
      const combined = [...f.epochs.slice(0, k), ...r.epochs];
      combined.forEach((e, i) => {
        const reference = s.epochs[i] as EpochReport;
        for (const [name, value] of Object.entries(reference.train)) {
          if (name === 'grad_norm') continue;
          const got = e.train[name] as number;
          assert.ok(relativeDifference(got, value) <= 1e-5, `epoch ${i + 1} train ${name}: resumed ${got} vs straight ${value}`);
        }
        const validation = reference.validation?.loss as number;
        assert.ok(relativeDifference(e.validation?.loss as number, validation) <= 1e-5, `epoch ${i + 1} validation loss`);
      });
      for (const [name, values] of straightParameters) {
        const resumed = resumedParameters.get(name) as Float32Array;
        assert.ok(resumed, `parameter ${name} missing after resume`);
        // Not bit-exact: tfjs's Adam.setWeights recomputes its bias-correction accumulators as
        // β^(t+1) instead of the running product, which differs in the last float32 bit and leaves
        // ~1e-7 drift. Relative to the tensor's scale that is ~3e-7; anything real is far larger.
        let worst = 0;
        let scale = 0;
        values.forEach((v, i) => {
          worst = Math.max(worst, Math.abs(v - (resumed[i] as number)));
          scale = Math.max(scale, Math.abs(v));
        });
        assert.ok(worst <= 1e-5 * scale, `${name}: resumed parameters differ from straight ones by ${worst} (scale ${scale})`);
      }
    });
  }

  test('restoring a checkpoint into a model of another shape fails with a clear error', async () => {
    const small = setup(configOf({ family: 'env-vae' }, { ...TEN_STEPS, epochs: 1 }));
    await small.trainer.run(recorder().callbacks);
    const checkpoint = await small.trainer.checkpoint();
    small.dispose();
    const wider = setup(configOf({ family: 'env-vae', hiddenUnits: 48 }, { ...TEN_STEPS, epochs: 1 }));
    await assert.rejects(wider.trainer.restore(checkpoint), /has shape .*model has/);
    wider.dispose();
  });
});

describe('every family', () => {
  for (const family of FAMILIES) {
    test(`${family}: learns on nonlinear-5 (held-out validation mse falls) without leaking tensors`, async () => {
      const baseline = tf.memory().numTensors;
      const s = setup(configOf({ family }, { epochs: 6, batchSize: 128, seed: 0 }));
      const r = recorder();
      const outcome = await s.trainer.run(r.callbacks);
      assert.deepEqual(outcome, { status: 'completed', epochsDone: 6 });

      const mse = r.epochs.map((e) => e.validation?.mse as number);
      assert.ok(mse.every(Number.isFinite), `validation mse ${mse}`);
      const first = mse[0] as number;
      const last = mse.at(-1) as number;
      assert.ok(
        last < 0.9 * first,
        `${family}: validation mse went from ${first} to ${last} (${mse.map((m) => m.toFixed(3)).join(' → ')})`,
      );
      // evaluate() on the held-out environments agrees with the last epoch report and changes nothing.
      const again = s.trainer.evaluate(s.data.validationIndices);
      assert.ok(relativeDifference(again.mse as number, last) < 1e-6, `evaluate ${again.mse} vs report ${last}`);
      assert.deepEqual(s.trainer.evaluate(s.data.validationIndices), again);

      const counts = r.epochs.map((e) => e.numTensors);
      assert.ok(
        counts.every((n) => n === counts[0]),
        `${family}: live tensors per epoch ${counts.join(', ')}`,
      );
      s.dispose();
      assert.equal(tf.memory().numTensors, baseline, `${family}: tensors left after dispose`);
    });
  }
});

describe('training data', () => {
  test('consumeExpression standardises the view it was given in place, with the same result as a copy', () => {
    const config = configOf({ family: 'cvae' });
    const sampleColumn = (column: string) => store.datasets.sampleColumn(datasetId, column);
    const stored = store.datasets.trainingView(datasetId);
    const raw = Float32Array.from(stored.expression);
    const copied = prepareTrainingData(stored, config, sampleColumn);
    assert.notEqual(copied.x, stored.expression);
    assert.deepEqual(stored.expression, raw, 'without consumeExpression the view is left as it was read');
    const consumed = prepareTrainingData(stored, config, sampleColumn, undefined, { consumeExpression: true });
    assert.equal(consumed.x, stored.expression, 'no 1.85 GB copy at full LINCS size');
    assert.deepEqual(consumed.x, copied.x);
    assert.deepEqual(consumed.standardization, copied.standardization);
  });
});
