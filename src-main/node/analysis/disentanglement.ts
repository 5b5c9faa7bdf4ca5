// Does the latent space separate what each environment changes from what it leaves alone?
// Scored the way the field scores it: latent recovery (MCC) and which latents each environment
// moves versus its true intervention targets (synthetic data), and how well the environment can
// be read off the environment-free part of the latent (lower is better).
import { priorShiftIsLocation } from '../../shared/api/model-families.js';
import { coordinatesForMass, meanCorrelationCoefficient } from './metrics.js';
import type { TrainedModel } from './trained-model.js';

export interface SyntheticTruthForScoring {
  /** True latents of every sample, samples × trueDims. */
  latents: number[];
  trueDims: number;
  /** True intervention targets per environment key. */
  targets: Map<string, number[]>;
}

export interface DisentanglementReport {
  /** Mean correlation of matched true and learned latents (1 = recovered up to permutation/scale). */
  mcc: number | null;
  /** Over intervened environments: of the learned coordinates an environment moves, how many map to its true targets, and vice versa. */
  targetPrecision: number | null;
  targetRecall: number | null;
  /** Accuracy of nearest-centroid classification of the environment from the environment-free latent; `chance` for reference. */
  environmentAccuracy: number;
  chance: number;
}

export function scoreDisentanglement(model: TrainedModel, truth: SyntheticTruthForScoring | null): DisentanglementReport {
  const d = model.latentDim;
  const n = model.nSamples;
  const means = model.encodeMeans();
  const shifts = model.priorShifts();
  const env = model.data.environmentOfSample;

  // Environment-free part: the posterior mean minus the environment's prior shift (C₀ for the
  // translation VAE); for families without a shift, the posterior mean itself.
  const free = new Float32Array(means);
  if (shifts && priorShiftIsLocation(model.config.model.family)) {
    for (let i = 0; i < n; i++) {
      const e = env[i] as number;
      for (let j = 0; j < d; j++) free[i * d + j] = (free[i * d + j] as number) - (shifts.mean[e * d + j] as number);
    }
  }
  const { accuracy, chance } = nearestCentroidAccuracy(free, env, d, model.data.trainIndices);

  let mcc: number | null = null;
  let precision: number | null = null;
  let recall: number | null = null;
  if (truth && truth.latents.length === n * truth.trueDims) {
    const matched = meanCorrelationCoefficient(Float64Array.from(truth.latents), means, n, truth.trueDims, d);
    mcc = matched.score;
    if (shifts) {
      const learnedFor = new Map(matched.matching.map(([trueIndex, learned]) => [trueIndex, learned]));
      let hits = 0;
      let moved = 0;
      let wanted = 0;
      model.data.environmentKeys.forEach((key, e) => {
        const targets = truth.targets.get(key) ?? [];
        if (targets.length === 0) return;
        const row = Array.from(
          { length: d },
          (_, j) => Math.abs(shifts.mean[e * d + j] as number) + Math.abs(shifts.logStd?.[e * d + j] ?? 0),
        );
        const k = coordinatesForMass(row);
        const movedSet = new Set(
          row
            .map((v, j) => ({ v, j }))
            .sort((a, b) => b.v - a.v)
            .slice(0, k)
            .map((x) => x.j),
        );
        const targetSet = new Set(targets.map((t) => learnedFor.get(t)).filter((j): j is number => j !== undefined));
        for (const j of movedSet) if (targetSet.has(j)) hits++;
        moved += movedSet.size;
        wanted += targetSet.size;
      });
      precision = moved > 0 ? hits / moved : null;
      recall = wanted > 0 ? hits / wanted : null;
    }
  }
  return { mcc, targetPrecision: precision, targetRecall: recall, environmentAccuracy: accuracy, chance };
}

/** Fit class centroids on every other training sample, classify the rest. */
function nearestCentroidAccuracy(
  values: Float32Array,
  labels: Int32Array,
  d: number,
  train: Int32Array,
): { accuracy: number; chance: number } {
  const fit = Array.from(train).filter((_, k) => k % 2 === 0);
  const test = Array.from(train).filter((_, k) => k % 2 === 1);
  const sums = new Map<number, { sum: Float64Array; count: number }>();
  for (const i of fit) {
    const label = labels[i] as number;
    const entry = sums.get(label) ?? { sum: new Float64Array(d), count: 0 };
    for (let j = 0; j < d; j++) entry.sum[j] = (entry.sum[j] as number) + (values[i * d + j] as number);
    entry.count++;
    sums.set(label, entry);
  }
  const centroids = [...sums].map(([label, { sum, count }]) => ({ label, c: sum.map((v) => v / count) }));
  let correct = 0;
  for (const i of test) {
    let best = -1;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (const { label, c } of centroids) {
      let distance = 0;
      for (let j = 0; j < d; j++) distance += ((values[i * d + j] as number) - (c[j] as number)) ** 2;
      if (distance < bestDistance) {
        bestDistance = distance;
        best = label;
      }
    }
    if (best === labels[i]) correct++;
  }
  return {
    accuracy: test.length > 0 ? correct / test.length : Number.NaN,
    chance: centroids.length > 0 ? 1 / centroids.length : Number.NaN,
  };
}

/** Reads the ground truth a synthetic dataset stores (null for real data). */
export function syntheticTruth(groundTruth: unknown, environmentKeys: readonly string[]): SyntheticTruthForScoring | null {
  const truth = groundTruth as {
    latents?: number[];
    latentNames?: string[];
    config?: { environments?: { name: string; interventions: { latent: number }[] }[] };
  } | null;
  if (!truth?.latents || !truth.latentNames || !truth.config?.environments) return null;
  const targets = new Map(truth.config.environments.map((e) => [e.name, e.interventions.map((i) => i.latent)]));
  for (const key of environmentKeys) if (!targets.has(key)) targets.set(key, []);
  return { latents: truth.latents, trueDims: truth.latentNames.length, targets };
}
