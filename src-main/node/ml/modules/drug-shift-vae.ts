// Conditional VAE with a dose-scaled additive drug shift, in the spirit of chemCPA's doser: the
// decoder reads the latent and the context (cell line, dose, time) but never the drug; the drug
// enters only as an additive shift of the expression, shift(drug) · s(drug, dose) with
// s = 2·sigmoid(a(drug)·log₁₀ dose + b(drug)). A drug's effect is one direction whose size the
// dose sets, and a new drug's direction can only come from its representation — the structure
// has to do the work, it cannot hide in the decoder's other inputs.
//
// With `shiftHeads` K > 1 the drug network is an ensemble: K independently initialised shift
// networks (each with its own doser) over the shared context decoder, each trained on its own
// reconstruction loss (not on their average, which would make them one wider network), and
// predicting their mean. Averaging heads that disagree where the data says little is what an
// unseen drug needs: their idiosyncratic errors cancel.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../../shared/api/training.js';
import type { Rng } from '../../data/random.js';
import { gaussianNll } from '../math.js';
import { type Dense, OneHiddenLayer, ParameterSet } from '../parameters.js';
import { AutoencoderModule } from './autoencoder.js';
import type { Batch, LossContext, LossTerms, ModuleDimensions } from './module.js';
import { standardNormalVaeLoss } from './vae.js';

/** One drug network: the shift direction and its doser. The first head keeps the original parameter names (checkpoints). */
interface ShiftHead {
  shift: OneHiddenLayer;
  doser: Dense;
}

export class DrugShiftVaeModule extends AutoencoderModule {
  readonly family = 'drug-shift-vae' as const;
  readonly #heads: ShiftHead[];
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
    this.#heads = Array.from({ length: config.shiftHeads }, (_, k) => {
      const suffix = k === 0 ? '' : `-${k + 1}`;
      return {
        shift: new OneHiddenLayer(this.params, `drug-shift${suffix}`, drug.length, config.hiddenUnits, dims.genes),
        doser: this.params.dense(`doser${suffix}`, drug.length, 2),
      };
    });
  }

  loss(batch: Batch, context: LossContext): LossTerms {
    if (this.#heads.length === 1) return standardNormalVaeLoss(this, batch, context);
    return tf.tidy(() => {
      const { z, kl: klPerSample } = this.sampleLatent(batch, context);
      const base = this.#base(z, batch.e);
      // Each head fits the data on its own: the mean of the heads' losses, not the loss of their mean.
      const losses = this.#shifts(batch.e).map((shift) => tf.mean(gaussianNll(batch.x, tf.add(base, shift) as tf.Tensor2D)));
      const reconstruction = tf.div(tf.addN(losses), losses.length) as tf.Scalar;
      const kl = tf.mean(klPerSample) as tf.Scalar;
      return { total: tf.add(reconstruction, tf.mul(kl, context.klWeight)) as tf.Scalar, terms: { reconstruction, kl } };
    });
  }

  override decode(z: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const shifts = this.#shifts(e);
      const shift = shifts.length === 1 ? (shifts[0] as tf.Tensor2D) : tf.div(tf.addN(shifts), shifts.length);
      return tf.add(this.#base(z, e), shift) as tf.Tensor2D;
    });
  }

  /** The drug's shift depends on e alone, so it adds to the mean of the context decoding unchanged. */
  override decodeMeans(z: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const shifts = this.#shifts(e);
      const shift = shifts.length === 1 ? (shifts[0] as tf.Tensor2D) : tf.div(tf.addN(shifts), shifts.length);
      return tf.add(this.decoder.applyMeans(z, tf.mul(e, this.#contextMask) as tf.Tensor2D), shift) as tf.Tensor2D;
    });
  }

  /** The decoder's output from the latent and the context alone. */
  #base(z: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
    return this.decoder.apply(z, tf.mul(e, this.#contextMask) as tf.Tensor2D);
  }

  /** Each head's dose-scaled shift of the expression; zero rows for controls. */
  #shifts(e: tf.Tensor2D): tf.Tensor2D[] {
    const drug = tf.matMul(e, this.#drugPart) as tf.Tensor2D;
    // Controls (and 'none' drug input) have an all-zero drug part: no shift at all.
    const treated = tf.cast(tf.greater(tf.sum(tf.abs(drug), 1, true), 0), 'float32');
    const logDose = tf.matMul(e, this.#dosePart);
    return this.#heads.map(({ shift, doser }) => {
      const [a, b] = tf.split(doser.apply(drug), 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      const scale = tf.mul(tf.sigmoid(tf.add(tf.mul(a, logDose), b)), 2);
      return tf.mul(shift.apply(drug), tf.mul(scale, treated)) as tf.Tensor2D;
    });
  }

  override dispose(): void {
    super.dispose();
    this.#drugPart.dispose();
    this.#contextMask.dispose();
    this.#dosePart.dispose();
  }
}
