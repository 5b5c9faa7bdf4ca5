// The model families' modules, by family id. Adding a family = its module file, one row in
// api/model-families.ts, and its line here (a Record over the ids, so a row without a module is a
// compile error).
import type { ModelFamily } from '../../../shared/api/model-families.js';
import type { ModelConfig } from '../../../shared/api/training.js';
import type { Rng } from '../../data/random.js';
import { AdversarialPriorModule } from './adversarial-prior.js';
import { DrugShiftVaeModule } from './drug-shift-vae.js';
import { EnvironmentVaeModule } from './env-vae.js';
import type { GenerativeModule, ModuleDimensions } from './module.js';
import { TranslationVaeModule } from './translation-vae.js';
import { VaeModule } from './vae.js';

const factories: Record<ModelFamily, (config: ModelConfig, dims: ModuleDimensions, rng: Rng) => GenerativeModule> = {
  vae: (c, d, r) => new VaeModule(c, d, r),
  cvae: (c, d, r) => new VaeModule(c, d, r),
  'env-vae': (c, d, r) => new EnvironmentVaeModule(c, d, r),
  'translation-vae': (c, d, r) => new TranslationVaeModule(c, d, r),
  'adversarial-prior-ae': (c, d, r) => new AdversarialPriorModule(c, d, r),
  'drug-shift-vae': (c, d, r) => new DrugShiftVaeModule(c, d, r),
};

export function createModule(config: ModelConfig, dims: ModuleDimensions, rng: Rng): GenerativeModule {
  return factories[config.family](config, dims, rng);
}

export type { Batch, GenerativeModule, LossContext, LossTerms, ModuleDimensions } from './module.js';
