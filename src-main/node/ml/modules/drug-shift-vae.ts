// Conditional VAE with a dose-scaled additive drug shift, in the spirit of chemCPA's doser: the
// decoder reads the latent and the context (cell line, dose, time) but never the drug; the drug
// enters only as an additive shift of the expression, shift(drug) · s(drug, dose) with
// s = 2·sigmoid(a(drug)·log₁₀ dose + b(drug)). A drug's effect is one direction whose size the
// dose sets, and a new drug's direction can only come from its representation — the structure
// has to do the work, it cannot hide in the decoder's other inputs.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../../shared/api/training.js';
import type { Rng } from '../../data/random.js';
import { type Dense, OneHiddenLayer, ParameterSet } from '../parameters.js';
import { AutoencoderModule } from './autoencoder.js';
import type { Batch, LossContext, LossTerms, ModuleDimensions } from './module.js';
import { standardNormalVaeLoss } from './vae.js';

export class DrugShiftVaeModule extends AutoencoderModule {
  readonly family = 'drug-shift-vae' as const;
  readonly #shift: OneHiddenLayer;
  readonly #doser: Dense;
  /** environment width × drug width 0/1 matrix: e·P is the drug part of e. */
  readonly #drugPart: tf.Tensor2D;
  /** 1 on context coordinates, 0 on the drug's: what the decoder may read of e. */
  readonly #contextMask: tf.Tensor2D;
  /** environment width × 1 selector of the log-dose coordinate (zeros when there is none: s depends on the drug only). */
  readonly #dosePart: tf.Tensor2D;

  constructor(config: ModelConfig, dims: ModuleDimensions, rng: Rng) {
    super(config, dims, new ParameterSet(rng), { encoderSeesEnvironment: true, decoderSeesEnvironment: true, stochastic: true });
    // Without named drug coordinates (one-hot environments), every coordinate is the drug's: each
    // environment then gets its own shift and the decoder reads no context.
    const named = dims.drugColumns ?? [];
    const drug = named.length > 0 ? named : Array.from({ length: dims.environment }, (_, j) => j);
    const width = dims.environment;
    const selector = new Float32Array(width * drug.length);
    drug.forEach((j, k) => {
      selector[j * drug.length + k] = 1;
    });
    const context = new Float32Array(width).fill(1);
    for (const j of drug) context[j] = 0;
    const dose = new Float32Array(width);
    if (dims.doseColumn !== null && dims.doseColumn !== undefined) dose[dims.doseColumn] = 1;
    this.#drugPart = tf.tensor2d(selector, [width, drug.length]);
    this.#contextMask = tf.tensor2d(context, [1, width]);
    this.#dosePart = tf.tensor2d(dose, [width, 1]);
    this.#shift = new OneHiddenLayer(this.params, 'drug-shift', drug.length, config.hiddenUnits, dims.genes);
    this.#doser = this.params.dense('doser', drug.length, 2);
  }

  loss(batch: Batch, context: LossContext): LossTerms {
    return standardNormalVaeLoss(this, batch, context);
  }

  override decode(z: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const base = this.decoder.apply(z, tf.mul(e, this.#contextMask) as tf.Tensor2D);
      const drug = tf.matMul(e, this.#drugPart) as tf.Tensor2D;
      // Controls (and 'none' drug input) have an all-zero drug part: no shift at all.
      const treated = tf.cast(tf.greater(tf.sum(tf.abs(drug), 1, true), 0), 'float32');
      const [a, b] = tf.split(this.#doser.apply(drug), 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      const scale = tf.mul(tf.sigmoid(tf.add(tf.mul(a, tf.matMul(e, this.#dosePart)), b)), 2);
      return tf.add(base, tf.mul(this.#shift.apply(drug), tf.mul(scale, treated))) as tf.Tensor2D;
    });
  }

  override dispose(): void {
    super.dispose();
    this.#drugPart.dispose();
    this.#contextMask.dispose();
    this.#dosePart.dispose();
  }
}
