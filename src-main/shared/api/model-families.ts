// The model families, one row each. Adding a family = one row here + its module file in ml/modules
// (and the factory line the compiler then asks for in ml/modules/index.ts): the config schema, the
// CLI flags and help, the Train form, the studies and the analyses all read these rows.
import { z } from 'zod';

/**
 * How a family's prior moves with the environment, which decides what analyses may do with it:
 * - `none`: one prior for every environment (VAE, conditional VAE);
 * - `gaussian`: z ~ N(μ̄ₑ, σ̄ₑ²), a sparse shift of mean and scale (environment VAE);
 * - `translation`: z = C₀ + μ̄ₑ with C₀ ~ N(0, I), a sparse offset (translation VAE);
 * - `attention`: an attention over latent coordinates matched by an adversary; its "mean" is a
 *   weighting, not a location, so it is never subtracted from a latent.
 */
export type PriorShiftKind = 'none' | 'gaussian' | 'translation' | 'attention';

/** One tunable value, described once for the form, the CLI and the schema. */
export interface Setting<S extends z.ZodType = z.ZodType> {
  /** Validates the value and gives its default. */
  schema: S;
  /** Form label. */
  label: string;
  /** CLI flag without dashes, and the placeholder the help shows for its value. */
  flag: string;
  placeholder: string;
  /** One line of CLI help (the default is appended from the schema). */
  help: string;
  /** Form input: a number (integer or not, with its lower bound) or a choice between labelled values. */
  input: { kind: 'integer' | 'decimal'; min: number } | { kind: 'choice'; choices: readonly { value: string; label: string }[] };
  /** Shown on the command line only (values most users never change). */
  cliOnly?: boolean;
  /** Form tooltip. */
  title?: string;
}

/**
 * A number setting. `cli` is the flag and its placeholder ("hidden N"); `input` says whether the
 * form takes integers and the lowest value it offers.
 */
export function numberSetting<S extends z.ZodType>(
  schema: S,
  input: { integer: boolean; min: number },
  label: string,
  cli: string,
  help: string,
  extra: Pick<Setting, 'title' | 'cliOnly'> = {},
): Setting<S> {
  const [flag = cli, placeholder = 'X'] = cli.split(' ');
  return { schema, label, flag, placeholder, help, input: { kind: input.integer ? 'integer' : 'decimal', min: input.min }, ...extra };
}

/** A setting chosen from labelled values (`choices`: value → label); the CLI shows the values. */
export function choiceSetting<S extends z.ZodType>(
  schema: S,
  choices: Record<string, string>,
  label: string,
  flag: string,
  help: string,
  extra: Pick<Setting, 'title' | 'cliOnly'> = {},
): Setting<S> {
  const values = Object.entries(choices).map(([value, text]) => ({ value, label: text }));
  return { schema, label, flag, placeholder: Object.keys(choices).join('|'), help, input: { kind: 'choice', choices: values }, ...extra };
}

export interface ModelFamilyRow {
  id: string;
  label: string;
  /** The decoder's output depends on the environment, so the model can predict a new drug's effect. */
  environmentAware: boolean;
  priorShift: PriorShiftKind;
  /** Settings only this family reads, merged into ModelConfig (keys must not clash with other rows). */
  config: Record<string, Setting>;
}

export const modelFamilies = [
  { id: 'vae', label: 'VAE', environmentAware: false, priorShift: 'none', config: {} },
  { id: 'cvae', label: 'Conditional VAE', environmentAware: true, priorShift: 'none', config: {} },
  { id: 'env-vae', label: 'Environment VAE', environmentAware: true, priorShift: 'gaussian', config: {} },
  { id: 'translation-vae', label: 'Translation VAE', environmentAware: true, priorShift: 'translation', config: {} },
  {
    id: 'adversarial-prior-ae',
    label: 'Adversarial prior autoencoder',
    environmentAware: false,
    priorShift: 'attention',
    config: {
      adversaryWeight: numberSetting(
        z.number().min(0).max(1000).default(1),
        { integer: false, min: 0 },
        'Adversary weight',
        'adversary-weight W',
        'weight of the adversary term',
      ),
    },
  },
  {
    id: 'drug-shift-vae',
    label: 'Drug-shift VAE (dose-scaled)',
    environmentAware: true,
    priorShift: 'none',
    config: {
      shiftHeads: numberSetting(
        z.number().int().min(1).max(16).default(1),
        { integer: true, min: 1 },
        'Drug-shift heads',
        'shift-heads K',
        'drug-shift VAE: an ensemble of K drug networks, each trained on its own loss, predicting their mean',
        { title: 'K > 1: K independently initialised drug-shift networks over one decoder; their mean is the prediction' },
      ),
    },
  },
] as const satisfies readonly ModelFamilyRow[];

export type ModelFamily = (typeof modelFamilies)[number]['id'];

export function modelFamilyRow(id: string): ModelFamilyRow {
  const row = (modelFamilies as readonly ModelFamilyRow[]).find((f) => f.id === id);
  if (!row) throw new Error(`Unknown model family "${id}"; one of: ${modelFamilyIds().join(', ')}`);
  return row;
}

export function modelFamilyIds(): ModelFamily[] {
  return modelFamilies.map((f) => f.id as ModelFamily);
}

export function isModelFamily(id: unknown): id is ModelFamily {
  return modelFamilies.some((f) => f.id === id);
}

export function isEnvironmentAware(id: string): boolean {
  return modelFamilies.some((f) => f.id === id && f.environmentAware);
}

/** The prior shift is a location in latent space (so subtracting it leaves the environment-free part). */
export function priorShiftIsLocation(id: string): boolean {
  const kind = modelFamilyRow(id).priorShift;
  return kind === 'gaussian' || kind === 'translation';
}
