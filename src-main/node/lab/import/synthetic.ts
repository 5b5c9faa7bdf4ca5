// Stores a dataset from the synthetic benchmark: expression, environments (with their true
// shift as the representation) and the ground truth needed later to score models against it.
import type { DatasetSummary, SyntheticPreset } from '../../../shared/api/domain.js';
import type { JobContextLike } from '../../data/progress.js';
import {
  generateSynthetic,
  type Intervention,
  presetDemo,
  presetLinearDependent2,
  presetLinearIndependent2,
  presetNonlinear5,
  type SyntheticConfig,
  type SyntheticDataset,
} from '../../data/synthetic.js';
import type { DatasetWriter, EnvironmentRecord } from '../../store/datasets.js';
import type { Store } from '../../store/store.js';

interface PresetChoice {
  config: SyntheticConfig;
  title: string;
  description: string;
  /** Environment names held out for validation (unseen during training), if the study has them. */
  validation: Set<string>;
}

function choosePreset(preset: SyntheticPreset, seed: number): PresetChoice {
  switch (preset) {
    case 'demo':
      return {
        config: presetDemo(seed),
        title: 'Synthetic demo',
        description:
          'Latent SCM with 10 causes on a growing-network graph, 200 genes as small ReLU nets of them; ' +
          'a control and 23 "drugs", each shifting or rescaling one latent cause.',
        validation: new Set(),
      };
    case 'linear-independent-2':
      return {
        config: presetLinearIndependent2(seed),
        title: 'Linear, 2 independent latents',
        description: 'Seed study 6.1: X = M·C with 2 independent latents, 10 genes, one environment (0, 0).',
        validation: new Set(),
      };
    case 'linear-dependent-2':
      return {
        config: presetLinearDependent2(
          [
            [0, 0],
            [0, 0.5],
          ],
          seed,
        ),
        title: 'Linear, 2 dependent latents, 2 environments',
        description: 'Seed study 6.3: the second latent is a function of the first; environments (0, 0) and (0, 0.5).',
        validation: new Set(),
      };
    case 'nonlinear-5': {
      const split = presetNonlinear5(seed);
      return {
        config: split.config,
        title: 'Nonlinear, 5 latents, 5+5 environments',
        description: 'Seed study 6.4: 5 latents on a growing network, ReLU genes; 5 training and 5 unseen validation environments.',
        validation: new Set(split.validationEnvironments.map((e) => e.name)),
      };
    }
  }
}

/** What a synthetic dataset keeps as ground truth: the latent SCM that generated it, and its latents. */
/**
 * Stores every generated sample (ids s000000, s000001, ...; metadata from `metadataOf` its
 * environment), in batches with progress from 20 to 100%, and commits; on any error nothing is kept.
 */
export function storeGeneratedSamples(
  writer: DatasetWriter,
  data: { nSamples: number; nGenes: number; expression: Float32Array; environmentIndex: ArrayLike<number> },
  context: JobContextLike | undefined,
  metadataOf: (environment: number) => Record<string, string>,
): DatasetSummary {
  try {
    const batch = 512;
    for (let start = 0; start < data.nSamples; start += batch) {
      const end = Math.min(data.nSamples, start + batch);
      const samples = [];
      for (let i = start; i < end; i++) {
        const environment = data.environmentIndex[i] as number;
        samples.push({
          id: `s${String(i).padStart(6, '0')}`,
          environment,
          metadata: metadataOf(environment),
          expression: data.expression.subarray(i * data.nGenes, (i + 1) * data.nGenes),
        });
      }
      writer.addSamples(samples);
      context?.progress(0.2 + (0.8 * end) / data.nSamples, `Stored ${end} of ${data.nSamples} samples`);
    }
    return writer.commit();
  } catch (error) {
    writer.abort();
    throw error;
  }
}

export function scmGroundTruth(data: ReturnType<typeof generateSynthetic>) {
  return {
    config: data.config,
    latentNames: data.latentNames,
    latentEdges: data.truth.latentEdges,
    latentWeights: data.truth.latentWeights,
    latentNoiseStd: data.truth.latentNoiseStd,
    observedParents: data.truth.observedParents,
    observedWeights: data.truth.observedWeights,
    decoderMatrix: data.truth.decoderMatrix ? Array.from(data.truth.decoderMatrix) : null,
    latents: Array.from(data.latents),
  };
}

export function describeInterventions(interventions: readonly Intervention[]): string {
  if (interventions.length === 0) return 'control (no intervention)';
  return interventions
    .map((i) =>
      i.kind === 'offset'
        ? `C${i.latent} ${i.value >= 0 ? '+' : '−'} ${Math.abs(i.value).toFixed(2)}`
        : `C${i.latent} noise ~ N(${(i.mean ?? 0).toFixed(2)}, ${i.std === undefined ? 'σ' : i.std.toFixed(2)}²)`,
    )
    .join(', ');
}

export function importSyntheticPreset(
  store: Store,
  request: { preset: SyntheticPreset; seed: number; name?: string },
  context?: JobContextLike,
): DatasetSummary {
  const choice = choosePreset(request.preset, request.seed);
  const data = generateSynthetic(choice.config);
  context?.progress(0.2, `Generated ${data.nSamples} samples; storing`);
  return storeSynthetic(store, data, {
    name: request.name ?? `${choice.title} (seed ${request.seed})`,
    description: choice.description,
    preset: request.preset,
    validation: choice.validation,
    context,
  });
}

/** Stores data from any synthetic config (studies build their own), with its ground truth. */
export function importSyntheticConfig(
  store: Store,
  config: SyntheticConfig,
  options: { name: string; description: string; preset: string; validation?: Set<string> },
  context?: JobContextLike,
): DatasetSummary {
  return storeSynthetic(store, generateSynthetic(config), { ...options, validation: options.validation ?? new Set(), context });
}

function storeSynthetic(
  store: Store,
  data: SyntheticDataset,
  options: { name: string; description: string; preset: string; validation: Set<string>; context: JobContextLike | undefined },
): DatasetSummary {
  const environments: EnvironmentRecord[] = data.environments.map((env) => ({
    key: env.name,
    label: describeInterventions(env.interventions),
    isControl: env.interventions.length === 0,
    representation: env.representation,
    representationKind: 'synthetic-shift',
  }));
  const writer = store.datasets.begin({
    name: options.name,
    source: 'synthetic',
    description: options.description,
    provenance: { generator: 'cellshift synthetic latent SCM', preset: options.preset, seed: data.config.seed },
    groundTruth: scmGroundTruth(data),
    representationColumns: [...data.latentNames.map((c) => `shift ${c}`), ...data.latentNames.map((c) => `log σ-ratio ${c}`)],
    genes: data.geneNames.map((name) => ({ id: name, symbol: name, landmark: true })),
    environments,
  });
  return storeGeneratedSamples(writer, data, options.context, (environment) => {
    const target = data.environments[environment];
    return {
      environment: target?.name ?? '',
      target_latent: target?.interventions.map((t) => `C${t.latent}`).join('+') || 'none',
      intervention: target?.interventions[0]?.kind ?? 'none',
      split: options.validation.has(target?.name ?? '') ? 'validation' : 'train',
    };
  });
}
