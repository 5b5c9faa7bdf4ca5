// Out-of-distribution reconstruction on synthetic data (seed §6.1–6.3): regenerate samples from
// the same latent SCM with the true latents translated by T along one latent direction, and
// measure how well a trained model reconstructs them.
import { generateSynthetic, offsetEnvironment, type SyntheticConfig } from '../data/synthetic.js';
import type { TrainedModel } from './trained-model.js';

export interface SweepPoint {
  direction: number;
  t: number;
  mse: number;
}

export function translationSweep(model: TrainedModel, config: SyntheticConfig, values: readonly number[], samples = 200): SweepPoint[] {
  const points: SweepPoint[] = [];
  for (let direction = 0; direction < config.nLatents; direction++) {
    for (const t of values) {
      const offsets = Array.from({ length: config.nLatents }, (_, j) => (j === direction ? t : 0));
      const environment = offsetEnvironment(offsets, `sweep-${direction}-${t}`);
      // Same seed: the same graph, weights and noise scales (they never depend on the environments).
      const data = generateSynthetic({ ...config, environments: [environment], samplesPerEnvironment: samples });
      const representation = data.environments[0]?.representation ?? new Float32Array(2 * config.nLatents);
      const input = model.config.model.environmentEncoding === 'representation' ? representation : 0;
      points.push({ direction, t, mse: model.reconstructionError(data.expression, data.nSamples, input) });
    }
  }
  return points;
}
