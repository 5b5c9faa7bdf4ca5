// The 'native-blas' TensorFlow.js backend: the pure-JavaScript cpu backend (its tensors are plain
// typed arrays) with matmuls sent to the system BLAS and the hot elementwise, reduction, copy
// and Adam kernels done in C, through the optional cellshift_blas addon (native/blas).
//
//   const status = registerNativeBackend();
//   if (status.ok) await tf.setBackend(status.name); else console.log(status.why);
//
// Registration is idempotent per thread and never throws: without the addon (not built, no
// BLAS library, wrong platform) it returns a reason and registers nothing, so backend selection
// can move on to wasm.
import * as tf from '@tensorflow/tfjs';
import { installFusedAdam } from './adam.js';
import { loadAddon, type NativeBinding } from './addon.js';
import { NativeBackend } from './backend.js';
import { DENSE_LINEAR, DENSE_RELU, RELU_GRAD, registerDenseGradients } from './dense.js';
import { registerBroadcastGradients } from './gradients.js';
import { afterQueue, denseKernel, gaussianNllGradKernel, gaussianNllKernel, nativeKernels, reluGradKernel } from './kernels.js';
import { GAUSSIAN_LATENT, GAUSSIAN_LATENT_GRAD, latentKernels, registerGaussianLatentGradient } from './latent.js';
import { GAUSSIAN_NLL, GAUSSIAN_NLL_GRAD, registerGaussianNllGradient } from './nll.js';

export const NATIVE_BACKEND = 'native-blas';

export type NativeStatus = { ok: true; name: typeof NATIVE_BACKEND; threads: number; detail: string } | { ok: false; why: string };

export interface NativeOptions {
  /** BLAS threads (OpenBLAS only; default: what the library chose, normally one per core). */
  threads?: number;
}

let registered: NativeStatus | null = null;

export function registerNativeBackend(options: NativeOptions = {}): NativeStatus {
  const addon = loadAddon();
  if (!addon.ok) return { ok: false, why: addon.why };
  if (options.threads !== undefined) addon.binding.setThreads(Math.max(1, Math.floor(options.threads)));
  if (registered) return refresh(registered, addon.binding.info().threads);
  try {
    // Priority 0: never picked by tfjs on its own, only when asked for by name.
    const sync = addon.binding.sync?.bind(addon.binding) ?? (() => {});
    tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(undefined, sync), 0);
    // The backend's kernels queue their addon calls (src/stream.h); the backend syncs before
    // JavaScript touches an array (backend.ts).
    const binding: NativeBinding = { ...addon.binding, ...addon.binding.queued };
    const overrides = nativeKernels(binding);
    for (const config of tf.getKernelsForBackend('cpu')) {
      // The cpu kernels run in JavaScript: after the addon's queued calls (backend.ts).
      const kernelFunc = overrides.get(config.kernelName) ?? afterQueue(config.kernelFunc as never, config.kernelName);
      tf.registerKernel({ ...config, backendName: NATIVE_BACKEND, kernelFunc: kernelFunc as tf.KernelFunc });
    }
    const fusedMatMul = overrides.get('_FusedMatMul');
    if (!fusedMatMul) throw new Error('no native _FusedMatMul kernel');
    tf.registerKernel({
      kernelName: DENSE_RELU,
      backendName: NATIVE_BACKEND,
      kernelFunc: denseKernel(DENSE_RELU, fusedMatMul, 'relu') as unknown as tf.KernelFunc,
    });
    tf.registerKernel({
      kernelName: DENSE_LINEAR,
      backendName: NATIVE_BACKEND,
      kernelFunc: denseKernel(DENSE_LINEAR, fusedMatMul, 'linear') as unknown as tf.KernelFunc,
    });
    tf.registerKernel({
      kernelName: RELU_GRAD,
      backendName: NATIVE_BACKEND,
      kernelFunc: reluGradKernel(binding) as unknown as tf.KernelFunc,
    });
    registerDenseGradients();
    // Addons built before src/loss.c lack these: the loss then stays tfjs's composite.
    const { gaussianNll, gaussianNllGrad } = binding;
    if (gaussianNll && gaussianNllGrad) {
      tf.registerKernel({
        kernelName: GAUSSIAN_NLL,
        backendName: NATIVE_BACKEND,
        kernelFunc: gaussianNllKernel(gaussianNll) as unknown as tf.KernelFunc,
      });
      tf.registerKernel({
        kernelName: GAUSSIAN_NLL_GRAD,
        backendName: NATIVE_BACKEND,
        kernelFunc: gaussianNllGradKernel(gaussianNllGrad) as unknown as tf.KernelFunc,
      });
      registerGaussianNllGradient();
    }
    // Addons built before src/latent.c lack these: the latent block then stays tfjs's composite.
    const latent = latentKernels(binding);
    if (latent) {
      tf.registerKernel({
        kernelName: GAUSSIAN_LATENT,
        backendName: NATIVE_BACKEND,
        kernelFunc: latent.forward as unknown as tf.KernelFunc,
      });
      tf.registerKernel({
        kernelName: GAUSSIAN_LATENT_GRAD,
        backendName: NATIVE_BACKEND,
        kernelFunc: latent.gradient as unknown as tf.KernelFunc,
      });
      registerGaussianLatentGradient();
    }
    installFusedAdam(NATIVE_BACKEND, binding);
    registerBroadcastGradients();
  } catch (error) {
    return { ok: false, why: `registering the native backend failed (${error instanceof Error ? error.message : String(error)})` };
  }
  registered = { ok: true, name: NATIVE_BACKEND, threads: 0, detail: '' };
  return refresh(registered, addon.binding.info().threads);
}

function refresh(status: NativeStatus, threads: number): NativeStatus {
  const addon = loadAddon();
  if (!status.ok || !addon.ok) return status;
  const count = `${threads} ${threads === 1 ? 'thread' : 'threads'}`;
  const { loopThreads, openmpWait, stream } = addon.binding.info();
  const loops = loopThreads === 'openmp' ? ` on the same OpenMP team${openmpWait ? ` (${openmpWait})` : ''}` : '';
  // Queued only where the kernels got the queued variants (not when CELLSHIFT_KERNEL_TIMES times each call).
  const detail =
    stream && addon.binding.queued
      ? `${addon.blas} matmuls and C elementwise/Adam kernels over the cpu backend's arrays, queued on the addon's own thread and shared in parts with the JavaScript thread while it waits (direct calls: ${count}${loops})`
      : `${addon.blas} matmuls on ${count} and C elementwise/Adam kernels${loops} over the cpu backend's arrays`;
  return { ...status, threads, detail };
}
