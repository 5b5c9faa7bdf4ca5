// The serving thread keeps answering while the LabApi calls that read every sample run (issue 13):
// the split preview and the environment list each took seconds at LINCS size and stalled app.info
// for all of it when they ran on that thread. (A per-sample column also runs in the worker, but
// receiving and validating its 60k strings is most of its cost, so it cannot be told apart here.) Not a speed test: each call's
// longest event-loop stall is compared with the call's own duration, so a call that runs on the
// serving thread (stall ≈ duration) fails at any machine load, and one in a worker passes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labCaller } from '../lab-call.js';
import { useTempLab } from '../temp-lab.js';

const SAMPLES = 60_000;
const DRUGS = 500;
const CELL_LINES = 3;
const GENES = 4;
/** Stalls below this are never blamed on a call (timer resolution, GC, a busy machine). */
const STALL_FLOOR_MS = 200;
/** A call in a worker stalls the serving thread for a small part of its duration (validating and sending its result). */
const STALL_SHARE = 0.5;

describe('long LabApi calls stay off the serving thread', () => {
  const temp = useTempLab('serving-thread');

  function writeLargeDataset(): string {
    const environments = Array.from({ length: DRUGS * CELL_LINES }, (_, e) => {
      const drug = `BRD-${Math.floor(e / CELL_LINES)}`;
      const cell = `CL${e % CELL_LINES}`;
      return {
        key: `${drug}|${cell}`,
        label: `${drug} in ${cell}`,
        isControl: false,
        perturbagen: { id: drug, smiles: `${'C'.repeat(1 + (e % 7))}O` },
        cellLine: cell,
        representationKind: 'none',
      };
    });
    const writer = temp.lab.store.datasets.begin({
      name: 'many samples, few genes',
      source: 'synthetic',
      description: 'serving-thread test',
      provenance: {},
      genes: Array.from({ length: GENES }, (_, g) => ({ id: `g${g}`, symbol: `G${g}`, landmark: true })),
      environments,
    });
    writer.addSamples(
      (function* () {
        for (let s = 0; s < SAMPLES; s++) {
          const environment = (s * 7919) % environments.length;
          yield {
            id: `sig${s}`,
            environment,
            metadata: { cell_id: `CL${environment % CELL_LINES}` },
            expression: Float32Array.of(s % 5, 1, 2, 3),
          };
        }
      })(),
    );
    return writer.commit().id;
  }

  it('answers while a split preview and the environment list are computed', async (t) => {
    const datasetId = writeLargeDataset();
    const call = labCaller(temp.lab);
    // The worker's start (and its module loading) is not what is measured.
    await call('datasets.sampleColumn', { datasetId, column: 'cell_id' });
    const calls: [string, unknown][] = [
      ['splits.preview', { datasetId, split: { kind: 'held-out-drugs', fraction: 0.2, seed: 0 } }],
      ['environments.list', { datasetId }],
    ];
    const stalls = stallRecorder();
    try {
      for (const [method, params] of calls) {
        stalls.reset();
        const started = performance.now();
        const result = await call<unknown>(method, params);
        const durationMs = performance.now() - started;
        const stallMs = stalls.longestMs();
        assert.ok(result !== null);
        t.diagnostic(`${method}: ${durationMs.toFixed(0)} ms, longest stall ${stallMs.toFixed(0)} ms`);
        const bound = Math.max(STALL_FLOOR_MS, STALL_SHARE * durationMs);
        assert.ok(
          stallMs < bound,
          `${method} blocked the serving thread for ${stallMs.toFixed(0)} ms of its ${durationMs.toFixed(0)} ms (bound ${bound.toFixed(0)} ms)`,
        );
      }
    } finally {
      stalls.stop();
    }
  });
});

/**
 * The longest gap between ticks of a 5 ms interval timer, including the gap still open now (a call
 * that blocked until it returned ends before the next tick).
 */
function stallRecorder(): { reset(): void; longestMs(): number; stop(): void } {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const at = performance.now();
    longest = Math.max(longest, at - last);
    last = at;
  }, 5);
  return {
    reset() {
      last = performance.now();
      longest = 0;
    },
    longestMs: () => Math.max(longest, performance.now() - last),
    stop: () => clearInterval(timer),
  };
}
