// Helpers shared by the readers: index validation, gene selection, batching, the read loop.

import { FormatError } from './errors.js';
import { type IterateOptions, type ReadIntoOptions, type SampleBatch, throwIfAborted } from './types.js';

export const DEFAULT_MAX_BATCH_BYTES = 16 * 1024 * 1024;

/** Throws 'bad-index' unless every index is an integer in [0, n). */
export function checkIndices(file: string, indices: readonly number[], n: number, what: string): void {
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i] as number;
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new FormatError('bad-index', file, `${what} index ${index} (position ${i}) is outside 0..${n - 1}`);
    }
  }
}

export interface GeneSelection {
  /** Number of genes selected. */
  count: number;
  /** If the selection is the run start, start+1, ..., start+count-1 (including "all genes"). */
  runStart: number | null;
  /** Selected gene indices in output order (always set). */
  indices: Int32Array;
}

export function selectGenes(file: string, geneIndices: readonly number[] | null, nGenes: number): GeneSelection {
  if (geneIndices === null) {
    const indices = new Int32Array(nGenes);
    for (let g = 0; g < nGenes; g++) indices[g] = g;
    return { count: nGenes, runStart: 0, indices };
  }
  checkIndices(file, geneIndices, nGenes, 'gene');
  const indices = Int32Array.from(geneIndices);
  let run = indices.length > 0;
  for (let i = 1; i < indices.length && run; i++) run = indices[i] === (indices[i - 1] as number) + 1;
  return { count: indices.length, runStart: run ? (indices[0] as number) : null, indices };
}

/** Copies the selected genes of one full-width row into out at offset. */
export function gatherGenes(row: ArrayLike<number>, rowOffset: number, genes: GeneSelection, out: Float32Array, outOffset: number): void {
  if (genes.runStart !== null) {
    const start = rowOffset + genes.runStart;
    if (row instanceof Float32Array) {
      out.set(row.subarray(start, start + genes.count), outOffset);
    } else {
      for (let j = 0; j < genes.count; j++) out[outOffset + j] = row[start + j] as number;
    }
    return;
  }
  const idx = genes.indices;
  for (let j = 0; j < idx.length; j++) out[outOffset + j] = row[rowOffset + (idx[j] as number)] as number;
}

/**
 * Sorts sample requests by file position, remembering where each goes in the output.
 * Returns pairs as two parallel arrays (file index, output position), sorted by file index.
 */
export function sortRequests(sampleIndices: readonly number[]): { fileIndex: Int32Array; outPos: Int32Array } {
  const n = sampleIndices.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = (sampleIndices[i] as number) >= (sampleIndices[i - 1] as number);
  if (!sorted) order.sort((a, b) => (sampleIndices[a] as number) - (sampleIndices[b] as number) || a - b);
  const fileIndex = new Int32Array(n);
  for (let i = 0; i < n; i++) fileIndex[i] = sampleIndices[order[i] as number] as number;
  return { fileIndex, outPos: order };
}

/** Generic batching on top of a readSamples implementation. */
export async function* batchSamples(
  sampleIndices: readonly number[],
  genesPerSample: number,
  options: IterateOptions,
  read: (indices: readonly number[], into: Float32Array | undefined) => Promise<Float32Array>,
): AsyncGenerator<SampleBatch, void, undefined> {
  const maxBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const perBatch = Math.max(1, Math.floor(maxBytes / Math.max(1, genesPerSample * 4)));
  const shared = options.reuseBuffer ? new Float32Array(Math.min(perBatch, sampleIndices.length) * genesPerSample) : undefined;
  for (let start = 0; start < sampleIndices.length; start += perBatch) {
    throwIfAborted(options.signal);
    const end = Math.min(sampleIndices.length, start + perBatch);
    const values = await read(sampleIndices.slice(start, end), shared);
    yield { start, end, values };
  }
}

/** Base of the readers: iterateSamples reads each batch with the reader's readSamples. */
export abstract class BatchedReader {
  abstract readSamples(
    sampleIndices: readonly number[],
    geneIndices: readonly number[] | null,
    options?: ReadIntoOptions,
  ): Promise<Float32Array>;

  /** Validates a request the way readSamples does (same errors) and returns its gene selection. */
  protected abstract checkRequest(sampleIndices: readonly number[], geneIndices: readonly number[] | null): GeneSelection;

  iterateSamples(
    sampleIndices: readonly number[],
    geneIndices: readonly number[] | null,
    options: IterateOptions = {},
  ): AsyncGenerator<SampleBatch, void, undefined> {
    const genes = this.checkRequest(sampleIndices, geneIndices);
    return batchSamples(sampleIndices, genes.count, options, (indices, into) =>
      this.readSamples(indices, geneIndices, { ...options, ...(into ? { into } : {}) }),
    );
  }
}

/**
 * Runs read steps, checking the signal between steps and yielding to the event loop every 50 ms.
 * A step may be a read already running off this thread (a promise): all of them settle before
 * this returns or throws (they write into the caller's buffer), and the first failure is thrown.
 */
export async function runReadSteps(steps: Iterable<Promise<void> | undefined | void>, signal: AbortSignal | undefined): Promise<void> {
  let lastYield = performance.now();
  const running: Promise<void>[] = [];
  let failure: { error: unknown } | null = null;
  try {
    for (const step of steps) {
      if (step) running.push(step);
      throwIfAborted(signal);
      if (performance.now() - lastYield > 50) {
        await new Promise((resolveYield) => setImmediate(resolveYield));
        lastYield = performance.now();
      }
    }
  } catch (error) {
    failure = { error };
  }
  for (const settled of await Promise.allSettled(running)) if (settled.status === 'rejected') failure ??= { error: settled.reason };
  if (failure) throw failure.error;
  throwIfAborted(signal);
}

/** First duplicate in a list of ids, as [firstIndex, secondIndex], or null. */
export function findDuplicate(ids: readonly string[]): [number, number] | null {
  if (ids.length >= HASHED_DUPLICATE_CHECK) return findDuplicateHashed(ids);
  // No duplicate, the usual case: one pass inside the Set constructor, no JS loop.
  if (new Set(ids).size === ids.length) return null;
  const seen = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as string;
    const before = seen.get(id);
    if (before !== undefined) return [before, i];
    seen.set(id, i);
  }
  return null;
}

/** From this many ids on, findDuplicate uses its own hash table rather than a Set. */
const HASHED_DUPLICATE_CHECK = 65_536;

/**
 * findDuplicate for long lists (a LINCS file's 473,647 sample ids): an open-addressing table of
 * positions in one Int32Array, hashed by FNV-1a over the characters. A Set of that many strings
 * took twice the CPU, most of it growing its table step by step and collecting the old ones.
 */
function findDuplicateHashed(ids: readonly string[]): [number, number] | null {
  let capacity = 1;
  while (capacity < 2 * ids.length) capacity *= 2;
  const slots = new Int32Array(capacity).fill(-1);
  const mask = capacity - 1;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as string;
    let hash = 0x811c9dc5;
    for (let k = 0; k < id.length; k++) hash = Math.imul(hash ^ id.charCodeAt(k), 0x01000193);
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const before = slots[slot] as number;
      if (before < 0) {
        slots[slot] = i;
        break;
      }
      if (ids[before] === id) return [before, i];
    }
  }
  return null;
}

/** Text tokens that mean "missing" in a metadata cell (CMap convention plus empty). */
export function isMissingMetaToken(text: string): boolean {
  return text === '' || text === '-666' || text === '-666.0' || text === '-666.00';
}

const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Strict decimal number (no hex, no whitespace, no empty string). */
export function parseStrictNumber(text: string): number | null {
  return NUMBER_RE.test(text) ? Number(text) : null;
}

/**
 * Types a column of text metadata the way cmapPy does: if every non-missing value is a number the
 * column becomes numeric, otherwise it stays text. Missing tokens become null either way.
 */
export function typeTextColumn(values: readonly string[]): MetaValueArray {
  let numeric = true;
  for (const v of values) {
    if (isMissingMetaToken(v)) continue;
    if (parseStrictNumber(v) === null) {
      numeric = false;
      break;
    }
  }
  return values.map((v) => (isMissingMetaToken(v) ? null : numeric ? Number(v) : v));
}

type MetaValueArray = (string | number | null)[];
