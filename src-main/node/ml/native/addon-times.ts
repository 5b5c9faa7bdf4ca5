// CELLSHIFT_KERNEL_TIMES=1: every call into the cellshift_blas addon is timed, wall and the
// process's CPU (all threads), grouped by function and, where it matters, by op or matmul shape.
// CPU ÷ wall says how many threads a kernel kept busy (≈ 1: it ran on the calling thread alone),
// and a step's wall time minus the addon's is what JavaScript and tfjs's bookkeeping cost
// (bench/profile-step.ts prints both). Off by default: two clock reads and a Map update per call.
import { BINARY_OPS, UNARY_OPS } from './ops.js';

export type AddonCallTimes = { label: string; calls: number; wallMs: number; cpuMs: number };

const totals = new Map<string, { calls: number; wallMs: number; cpuUs: number }>();

export function addonTimesEnabled(): boolean {
  return process.env.CELLSHIFT_KERNEL_TIMES === '1';
}

const unaryNames = new Map<number, string>(Object.entries(UNARY_OPS).map(([name, op]) => [op, name]));
const binaryNames = new Map<number, string>(Object.entries(BINARY_OPS).map(([name, op]) => [op, name]));

/** What a call is grouped under: the function, with the op or the matmul's m×n×k where they differ per call. */
function callLabel(name: string, args: unknown[]): string {
  if (name === 'gemm') {
    const [batch, m, n, k, transA, transB] = args as number[];
    return `gemm ${batch === 1 ? '' : `${batch}× `}${m}×${n}×${k}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}${args[11] === 1 ? ' +=' : ''}`;
  }
  if (name === 'unary') return `unary ${unaryNames.get(args[0] as number) ?? args[0]} [${(args[2] as Float32Array).length}]`;
  if (name === 'binary') return `binary ${binaryNames.get(args[0] as number) ?? args[0]} [${(args[1] as Float32Array).length}]`;
  if (name === 'copy' || name === 'reduce')
    return `${name} [${(args[name === 'copy' ? 6 : 2] as ArrayLike<number>).length}${name === 'copy' ? 'd' : ''}]`;
  return name;
}

/** The binding with every function timed (info, setThreads and the flags pass through). */
export function timedBinding<Binding extends object>(binding: Binding): Binding {
  // Without the queued variants (src/stream.h): a call is timed only if it runs before it returns.
  const timed = { ...binding, queued: undefined } as Record<string, unknown>;
  for (const [name, value] of Object.entries(timed)) {
    if (typeof value !== 'function' || name === 'info' || name === 'setThreads') continue;
    const fn = value as (...args: unknown[]) => unknown;
    timed[name] = (...args: unknown[]) => {
      const cpu = process.cpuUsage();
      const started = performance.now();
      const result = fn.apply(binding, args);
      const wallMs = performance.now() - started;
      const used = process.cpuUsage(cpu);
      const label = callLabel(name, args);
      const entry = totals.get(label) ?? { calls: 0, wallMs: 0, cpuUs: 0 };
      entry.calls += 1;
      entry.wallMs += wallMs;
      entry.cpuUs += used.user + used.system;
      totals.set(label, entry);
      return result;
    };
  }
  return timed as unknown as Binding;
}

/** The times gathered since the last call (this thread's addon calls only), costliest first. */
export function takeAddonTimes(): AddonCallTimes[] {
  const list = [...totals.entries()].map(([label, t]) => ({ label, calls: t.calls, wallMs: t.wallMs, cpuMs: t.cpuUs / 1000 }));
  totals.clear();
  return list.sort((a, b) => b.wallMs - a.wallMs);
}
