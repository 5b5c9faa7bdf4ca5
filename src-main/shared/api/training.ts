// Model and training configuration: hyperparameters are data, validated wherever they arrive
// (renderer form, CLI flags, stored run config).
import { z } from 'zod';
import { Seed } from './domain.js';
import {
  choiceSetting,
  isEnvironmentAware,
  type ModelFamily as ModelFamilyId,
  type ModelFamilyRow,
  modelFamilies,
  modelFamilyIds,
  numberSetting,
  type Setting,
} from './model-families.js';

/** Family ids, derived from the registry rows (see model-families.ts). */
/** Drug representations a run can ask for (see runSettings.drugFeatures). */
export const DrugFeatures = z.enum(['stored', 'morgan-r1', 'morgan-r2', 'morgan-r3', 'descriptors', 'morgan-r2+descriptors']);
export type DrugFeatures = z.infer<typeof DrugFeatures>;
export const drugFeatureLabels: Record<DrugFeatures, string> = {
  stored: 'fingerprint as imported',
  'morgan-r1': 'Morgan bits, radius 1 (2048)',
  'morgan-r2': 'Morgan bits, radius 2 (2048)',
  'morgan-r3': 'Morgan bits, radius 3 (2048)',
  descriptors: 'RDKit 2-D descriptors',
  'morgan-r2+descriptors': 'Morgan radius 2 + descriptors',
};

export const ModelFamily = z.enum(modelFamilyIds() as [ModelFamilyId, ...ModelFamilyId[]]);
export type ModelFamily = ModelFamilyId;

export const modelFamilyLabels: Record<ModelFamily, string> = Object.fromEntries(modelFamilies.map((f) => [f.id, f.label])) as Record<
  ModelFamily,
  string
>;

/** Families whose decoder output depends on the environment, so they can predict a new drug's effect. */
export const environmentAwareFamilies: readonly ModelFamily[] = modelFamilyIds().filter(isEnvironmentAware);

export const ValidationSplit = z.discriminatedUnion('kind', [
  /** Hold out a random fraction of the (non-control) environments: the seed's unseen-environment validation. */
  z.strictObject({
    kind: z.literal('random-environments'),
    fraction: z.number().gt(0).lt(1).default(0.2),
    seed: z.number().int().min(0).default(0),
  }),
  /** Hold out every environment of a random fraction of drugs: unseen-drug prediction (the seed's 682/335 split). */
  z.strictObject({
    kind: z.literal('held-out-drugs'),
    fraction: z.number().gt(0).lt(1).default(0.2),
    seed: z.number().int().min(0).default(0),
  }),
  /** Hold out whole chemical series: drugs grouped by Bemis–Murcko scaffold, a fraction of scaffolds held out. */
  z.strictObject({ kind: z.literal('scaffold'), fraction: z.number().gt(0).lt(1).default(0.2), seed: z.number().int().min(0).default(0) }),
  /** Hold out the named cell lines. */
  z.strictObject({ kind: z.literal('held-out-cell-lines'), cellLines: z.array(z.string()).min(1) }),
  /** Use a sample metadata column: rows whose value is in `validationValues` are validation. */
  z.strictObject({ kind: z.literal('metadata'), column: z.string().min(1), validationValues: z.array(z.string()).min(1) }),
  z.strictObject({ kind: z.literal('none') }),
]);
export type ValidationSplit = z.infer<typeof ValidationSplit>;

/** Settings every family reads; each family's own settings come from its registry row. */
export const modelSettings = {
  /** Hidden units of every one-hidden-layer network (encoder, decoder, auxiliary, adversary). Seed L1000: 500. */
  hiddenUnits: numberSetting(
    int(1, 8192, 500),
    { integer: true, min: 1 },
    'Hidden units',
    'hidden N',
    'hidden units of every network (seed L1000 size)',
  ),
  /** Latent size d. Seed L1000: 200. */
  latentDim: numberSetting(int(1, 2048, 200), { integer: true, min: 1 }, 'Latent size', 'latent N', 'latent size d (seed L1000 size)'),
  /** Softmax temperature T of the prior sparsification; lower is sparser. */
  temperature: numberSetting(
    z.number().positive().max(1000).default(1),
    { integer: false, min: 0 },
    'Sparsity temperature',
    'temperature T',
    'prior sparsity softmax temperature (lower = sparser)',
    { title: 'Lower temperature makes each environment move fewer latent coordinates' },
  ),
  /** Final weight of the KL (or adversary) term. */
  beta: numberSetting(z.number().min(0).max(1000).default(1), { integer: false, min: 0 }, 'KL weight β', 'beta B', 'KL weight'),
  /** Epochs over which the KL weight ramps linearly from 0 to beta. */
  klWarmupEpochs: numberSetting(int(0, 10_000, 5), { integer: true, min: 0 }, 'KL warm-up (epochs)', 'warmup N', 'KL warm-up epochs'),
  /** How encoders that see the environment take it in: concatenated input, or FiLM on the hidden layer. */
  encoderConditioning: choiceSetting(
    z.enum(['concat', 'film']).default('concat'),
    { concat: 'concatenate', film: 'FiLM' },
    'Encoder conditioning',
    'encoder',
    'how encoders take the environment in',
  ),
  /** What the networks receive as the environment: its stored representation, or a one-hot of its index. */
  environmentEncoding: choiceSetting(
    z.enum(['representation', 'one-hot']).default('representation'),
    { representation: 'representation', 'one-hot': 'one-hot' },
    'Environment input',
    'environment',
    'what the networks receive as e',
    { cliOnly: true },
  ),
};

/** Settings of the run rather than the model. */
export const runSettings = {
  epochs: numberSetting(int(1, 100_000, 50), { integer: true, min: 1 }, 'Epochs', 'epochs N', 'passes over the training set'),
  batchSize: numberSetting(int(1, 65_536, 256), { integer: true, min: 1 }, 'Batch size', 'batch-size N', 'samples per step'),
  learningRate: numberSetting(
    z.number().positive().max(1).default(1e-3),
    { integer: false, min: 0 },
    'Learning rate',
    'lr X',
    'Adam learning rate',
  ),
  seed: numberSetting(Seed.default(0), { integer: true, min: 0 }, 'Seed', 'seed N', 'random seed'),
  /**
   * The structure controls: the drug's own coordinates of each environment's representation as
   * stored ('structure'), permuted among the training drugs (each training drug gets another
   * training drug's fingerprint: same marginals, no link to its effect), or zeroed everywhere
   * ('none'). Cell line, dose and time stay. Held-out drugs keep their real fingerprints.
   */
  drugInput: choiceSetting(
    z.enum(['structure', 'permuted', 'none']).default('structure'),
    { structure: 'structure', permuted: 'permuted among training drugs', none: 'none (control)' },
    'Drug input',
    'drug-input',
    'the structure controls: fingerprints as stored, permuted among training drugs, or removed',
    { title: 'Controls for whether the model uses the structure: cell line, dose and time stay' },
  ),
  /**
   * Which description of the drug the networks receive in place of the stored fingerprint bits:
   * rebuilt from the drug's canonical SMILES (cached per SMILES and representation), so one import
   * can be trained on several representations. Cell line, dose and time stay as stored.
   */
  drugFeatures: choiceSetting(
    DrugFeatures.default('stored'),
    drugFeatureLabels,
    'Drug representation',
    'drug-features',
    'the drug description the networks receive: the imported fingerprint, Morgan bits at radius 1–3 (2048 bits), RDKit 2-D descriptors (standardised), or both',
    { title: "Rebuilt from each drug's canonical SMILES; drugs without a structure keep their one-hot code" },
  ),
  /**
   * How the networks see the cell line: its one-hot code as imported, or its basal profile (the mean
   * expression of its control samples, scaled per gene across the training cell lines). A one-hot
   * code says nothing about a cell line never trained on; its basal profile does.
   */
  cellContext: choiceSetting(
    z.enum(['one-hot', 'basal']).default('one-hot'),
    { 'one-hot': 'one-hot code', basal: 'basal profile (mean of its controls)' },
    'Cell line input',
    'cell-context',
    'how the networks see the cell line: its one-hot code, or its basal profile (mean of its control samples), which carries to cell lines not trained on',
    { title: 'Basal: each cell line is described by its untreated expression, scaled across the training cell lines' },
  ),
};

function int(min: number, max: number, fallback: number) {
  return z.number().int().min(min).max(max).default(fallback);
}

type SchemasOf<S> = { [K in keyof S]: S[K] extends Setting<infer Z> ? Z : never };
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type FamilySettings = UnionToIntersection<(typeof modelFamilies)[number]['config']>;

function schemasOf<S extends Record<string, Setting>>(settings: S): SchemasOf<S> {
  return Object.fromEntries(Object.entries(settings).map(([key, s]) => [key, s.schema])) as SchemasOf<S>;
}

/** Every family's own settings, keyed by name. */
export const familySettings = Object.assign({}, ...modelFamilies.map((f) => f.config)) as FamilySettings;

export const ModelConfig = z.strictObject({
  family: ModelFamily,
  ...schemasOf(modelSettings),
  ...schemasOf(familySettings),
  /** Log-variances (posterior and prior) are squashed into [-bound, bound]. */
  logVarBound: z.number().positive().max(30).default(8),
  /** Decoder: one-hidden-layer ReLU network, or linear (the seed's §6.1–6.3 studies, where M̃ is read off). */
  decoder: z.enum(['mlp', 'linear']).default('mlp'),
});
export type ModelConfig = z.infer<typeof ModelConfig>;
export type ModelConfigInput = z.input<typeof ModelConfig>;

export const TrainingConfig = z.strictObject({
  model: ModelConfig,
  ...schemasOf(runSettings),
  /** Gradients are rescaled so their global L2 norm never exceeds this. */
  gradientClipNorm: z.number().positive().default(10),
  /** Per-gene standardisation with training-set statistics (stored with the model). */
  standardize: z.boolean().default(true),
  validation: ValidationSplit.default({ kind: 'random-environments', fraction: 0.2, seed: 0 }),
  /** A loss this many times above the run's best epoch loss counts as diverging. */
  divergenceFactor: z.number().gt(1).default(1e4),
  /** Keep this many most recent checkpoints (plus the best one). */
  keepCheckpoints: z.number().int().min(1).max(100).default(2),
});
export type TrainingConfig = z.infer<typeof TrainingConfig>;
export type TrainingConfigInput = z.input<typeof TrainingConfig>;

/** Held-out groups a split preview names (the rest are counted): a held-out-drug split of LINCS holds out ~4,000. */
export const SPLIT_PREVIEW_GROUPS = 50;

/**
 * What a validation split would hold out of a dataset, before any training: its totals, as the
 * split picker shows them. Each environment's place comes with the rows that show it
 * (environments.page with the split), or all at once, packed, from splits.assignment: at LINCS
 * size every environment's id and status were 2.8 MB of JSON that no view showed.
 */
export const SplitPreview = z.object({
  split: ValidationSplit,
  trainSamples: z.number().int().nonnegative(),
  heldOutSamples: z.number().int().nonnegative(),
  /** Environments by where their samples go: all held out, some (a metadata split), or none. */
  environments: z.strictObject({
    total: z.number().int().nonnegative(),
    heldOut: z.number().int().nonnegative(),
    partlyHeldOut: z.number().int().nonnegative(),
  }),
  /** The first SPLIT_PREVIEW_GROUPS groups held out whole, sorted: drugs, scaffolds, cell lines (empty for random and metadata splits). */
  heldOutGroups: z.array(z.string()).max(SPLIT_PREVIEW_GROUPS),
  /** How many groups are held out whole (heldOutGroups names the first of them). */
  heldOutGroupCount: z.number().int().nonnegative(),
  /** Plain-language note when the split cannot do what was asked (e.g. no structures for a scaffold split). */
  note: z.string().nullable(),
});
export type SplitPreview = z.infer<typeof SplitPreview>;

/** One setting as the form and the CLI show it: where it goes in a TrainingConfig, and which family owns it. */
export interface SettingField {
  key: string;
  section: 'model' | 'run';
  setting: Setting;
  /** The family whose row declares it; absent for settings every family reads. */
  family?: string;
}

/**
 * The settings to offer, in display order: model settings, the family's own (every family's when
 * no family is given, as in the CLI help), then the run's.
 */
export function settingFields(family?: string): SettingField[] {
  const owned = (modelFamilies as readonly ModelFamilyRow[])
    .filter((f) => family === undefined || f.id === family)
    .flatMap((f) => Object.entries(f.config).map(([key, setting]) => ({ key, section: 'model' as const, setting, family: f.id })));
  return [
    ...Object.entries(modelSettings).map(([key, setting]) => ({ key, section: 'model' as const, setting })),
    ...owned,
    ...Object.entries(runSettings).map(([key, setting]) => ({ key, section: 'run' as const, setting })),
  ];
}

export function settingDefault(setting: Setting): unknown {
  return setting.schema.parse(undefined);
}

/** `config` with each given value laid into its section (model or run); values left undefined are not set. */
export function withSettings(
  config: Record<string, unknown>,
  fields: SettingField[],
  values: Record<string, unknown>,
): Record<string, unknown> {
  const model = { ...((config.model as Record<string, unknown> | undefined) ?? {}) };
  const result: Record<string, unknown> = { ...config, model };
  for (const field of fields) {
    const value = values[field.key];
    if (value !== undefined) (field.section === 'model' ? model : result)[field.key] = value;
  }
  return result;
}
