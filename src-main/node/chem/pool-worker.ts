// Entry of a chemistry pool worker (see pool.ts): one RDKit wasm instance of its own, describing
// the chunks of SMILES it is sent, in order.
import { parentPort } from 'node:worker_threads';

import { Chemistry } from './chemistry.js';
import type { PoolReply, PoolRequest } from './pool.js';

const port = parentPort;
if (!port) throw new Error('pool-worker.ts runs as a worker thread');

const chemistry = Chemistry.load();

port.on('message', (request: PoolRequest) => {
  void describeChunk(request).then((reply) => port.postMessage(reply));
});

async function describeChunk(request: PoolRequest): Promise<PoolReply> {
  try {
    const chem = await chemistry;
    const results = [];
    for (const smiles of request.smiles) {
      // After RDKit crashed on an earlier structure, wait for the fresh instance.
      await chem.ready();
      results.push(chem.describe(smiles, request.options));
    }
    return { id: request.id, results };
  } catch (error) {
    return { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
}
