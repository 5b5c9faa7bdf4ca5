// Predicting the response to a drug from its structure: the new drug's environment vector is
// built exactly as the import built the training drugs' (same fingerprint settings and column
// layout), then the model decodes from that environment's prior.
import { LabError } from '../api/errors.js';
import type { FingerprintOptions } from '../api/imports.js';
import type { TrainedModel } from './trained-model.js';
import { environmentMeans } from './unseen.js';

export interface StructureDescriber {
  describe(smiles: string, options: FingerprintOptions): { ok: true; fingerprint: Uint8Array } | { ok: false; reason: string };
}

export interface DrugPrediction {
  predicted: Float32Array;
  control: Float32Array;
  /** predicted − control, per gene. */
  delta: Float32Array;
}

/** The environment vector of a new drug in a dataset whose environments are Morgan fingerprints. */
export function drugEnvironmentVector(
  columns: readonly string[],
  fingerprint: FingerprintOptions,
  bits: Uint8Array,
  cellLine: string | null,
): Float32Array {
  const vector = new Float32Array(columns.length);
  const morgan = columns.filter((c) => c.startsWith('morgan bit ')).length;
  if (morgan !== fingerprint.nBits || bits.length !== morgan) {
    throw new LabError('conflict', `The dataset's environments carry ${morgan} fingerprint bits, the structure has ${bits.length}.`);
  }
  for (let b = 0; b < morgan; b++) vector[b] = bits[b] ? 1 : 0;
  const cells = columns.flatMap((c, i) => (c.startsWith('cell ') ? [{ cell: c.slice(5), i }] : []));
  if (cells.length > 0) {
    if (cellLine === null) throw new LabError('invalid_params', `Choose a cell line: ${cells.map((c) => c.cell).join(', ')}`);
    const column = cells.find((c) => c.cell === cellLine);
    if (!column)
      throw new LabError('invalid_params', `Cell line "${cellLine}" is not in this dataset (${cells.map((c) => c.cell).join(', ')})`);
    vector[column.i] = 1;
  }
  return vector;
}

export function predictDrug(model: TrainedModel, environment: Float32Array, cellLine: string | null): DrugPrediction {
  const predicted = model.predictEnvironmentMean(environment);
  const means = environmentMeans(model, model.data.trainIndices);
  const controls = model.data.environmentKeys.flatMap((key, e) => {
    if (!key.startsWith('control') || !means[e]) return [];
    // With cell lines in the key, compare with that cell line's own controls.
    return cellLine === null || key === 'control' || key.endsWith(`| ${cellLine}`) ? [means[e] as Float32Array] : [];
  });
  if (controls.length === 0) throw new LabError('conflict', 'The training data has no control samples to compare with.');
  const control = new Float32Array(predicted.length);
  for (const c of controls)
    for (let g = 0; g < control.length; g++) control[g] = (control[g] as number) + (c[g] as number) / controls.length;
  return { predicted, control, delta: predicted.map((v, g) => v - (control[g] as number)) };
}
