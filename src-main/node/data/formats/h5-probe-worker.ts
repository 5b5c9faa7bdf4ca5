// Entry of the HDF5 probe worker (see h5-probe.ts): opens each requested file with the ordinary
// reader, reads ids, metadata and the first sample, reporting every HDF5 access so the watchdog on
// the other side can tell progress from a hang, and sends ids and metadata back.
import { parentPort } from 'node:worker_threads';

import { FormatError } from './errors.js';
import { openGctx } from './gctx.js';
import { loadH5, setHdf5StepListener } from './h5.js';
import type { ProbeMessage, ProbeRequest } from './h5-probe.js';
import { openH5ad } from './h5ad.js';
import type { ExpressionSource } from './types.js';

const port = parentPort;
if (!port) throw new Error('h5-probe-worker.ts runs as a worker thread');

function post(message: ProbeMessage): void {
  port?.postMessage(message);
}

let current = 0;
setHdf5StepListener((where) => post({ type: 'step', id: current, where }));

async function probe(request: ProbeRequest): Promise<void> {
  current = request.id;
  let reader: ExpressionSource | null = null;
  try {
    reader =
      request.format === 'gctx'
        ? await openGctx(request.path)
        : await openH5ad(request.path, request.duplicateNames ? { duplicateNames: request.duplicateNames } : {});
    const metadata = {
      geneIds: reader.geneIds(),
      sampleIds: reader.sampleIds(),
      geneMetadata: reader.geneMetadata(),
      sampleMetadata: reader.sampleMetadata(),
      skippedColumns: 'skippedColumns' in reader ? (reader.skippedColumns as { where: string; reason: string }[]) : [],
    };
    // The matrix's layout and first chunk too: a damaged chunk index should stall here, not later.
    if (reader.nSamples > 0 && reader.nGenes > 0) await reader.readSamples([0], null);
    post({ type: 'done', id: request.id, metadata });
  } catch (error) {
    post({
      type: 'error',
      id: request.id,
      error:
        error instanceof FormatError
          ? {
              code: error.code,
              file: error.file,
              detail: error.detail,
              ...(error.where !== undefined ? { where: error.where } : {}),
              ...(error.line !== undefined ? { line: error.line } : {}),
              ...(error.column !== undefined ? { column: error.column } : {}),
            }
          : { message: error instanceof Error ? error.message : String(error) },
    });
    // A trap or abort inside the wasm may leave HDF5's state broken: end this worker (the caller
    // starts a fresh one for the next file) rather than read the next file with it.
    const cause = error instanceof FormatError ? error.cause : error;
    // By name: the main build's type libraries do not declare WebAssembly as a value.
    if (cause instanceof Error && cause.name === 'RuntimeError') process.exit(0);
  } finally {
    try {
      reader?.close();
    } catch {
      // the file was damaged; nothing more to release
    }
  }
}

await loadH5();
// Probes arrive one at a time (the caller queues them); handle them in order all the same.
let queue: Promise<void> = Promise.resolve();
port.on('message', (request: ProbeRequest) => {
  queue = queue.then(() => probe(request));
});
post({ type: 'ready' });
