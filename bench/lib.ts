// Shared pieces of the training benchmarks: L1000-sized random training data and configs built
// from the product's own schemas, so the figures are the product's (createModule + Trainer).

import { Rng } from '../src-main/node/data/random.js';
import type { TrainingData } from '../src-main/node/ml/training-data.js';
import { ModelConfig, type ModelFamily, TrainingConfig } from '../src-main/shared/api/training.js';

/** Seed L1000 sizes: 978 landmark genes, 1024-bit Morgan fingerprints as the environment. */
export const GENES = 978;
export const ENV_WIDTH = 1024;
export const HIDDEN = 500;
export const LATENT = 200;

/**
 * Standard-normal expression (what standardised data looks like) for `nSamples` samples spread
 * over `nEnvironments` environments, each with a sparse binary fingerprint (~4% bits set).
 */
export function randomTrainingData(nSamples: number, nEnvironments = 64, seed = 1): TrainingData {
  const rng = new Rng(seed);
  const x = new Float32Array(nSamples * GENES);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const environmentInputs = new Float32Array(nEnvironments * ENV_WIDTH);
  for (let i = 0; i < environmentInputs.length; i++) environmentInputs[i] = rng.next() < 0.04 ? 1 : 0;
  const environmentOfSample = new Int32Array(nSamples);
  for (let i = 0; i < nSamples; i++) environmentOfSample[i] = i % nEnvironments;
  const trainIndices = new Int32Array(nSamples);
  for (let i = 0; i < nSamples; i++) trainIndices[i] = i;
  return {
    nGenes: GENES,
    geneIds: Array.from({ length: GENES }, (_, g) => `g${g}`),
    x,
    environmentOfSample,
    environmentKeys: Array.from({ length: nEnvironments }, (_, e) => `env${e}`),
    environmentInputs,
    environmentWidth: ENV_WIDTH,
    environmentClass: Int32Array.from({ length: nEnvironments }, (_, e) => e),
    environmentClasses: nEnvironments,
    trainIndices,
    validationIndices: new Int32Array(0),
    validationEnvironments: [],
    standardization: null,
  };
}

export function modelConfig(family: ModelFamily): ModelConfig {
  return ModelConfig.parse({ family, hiddenUnits: HIDDEN, latentDim: LATENT });
}

export function trainingConfig(family: ModelFamily, batchSize: number, epochs: number): TrainingConfig {
  return TrainingConfig.parse({ model: modelConfig(family), batchSize, epochs, validation: { kind: 'none' } });
}

export function dims(data: TrainingData) {
  return { genes: data.nGenes, environment: data.environmentWidth, environmentClasses: data.environmentClasses };
}
