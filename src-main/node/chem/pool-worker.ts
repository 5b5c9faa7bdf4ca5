// Entry of a chemistry pool worker (see pool.ts): one RDKit wasm instance of its own, made from the
// pool's compiled module when the pool sends one first, and the pool's engine (native RDKit for
// the facts when the pool uses it), describing the chunks of SMILES it is sent, in order.
import { parentPort } from 'node:worker_threads';

import { Chemistry, type ChemistryEngineName } from './chemistry.js';
import type { PoolReply, PoolRequest, PoolSetup } from './pool.js';
import { useCompiledRDKit } from './rdkit.js';

const port = parentPort;
if (!port) throw new Error('pool-worker.ts runs as a worker thread');

/** Loaded on the first request, after the setup message (if any) has said what to load from. */
let chemistry: Promise<Chemistry> | null = null;
let engine: ChemistryEngineName | undefined;

port.on('message', (message: PoolSetup | PoolRequest) => {
  if ('engine' in message) {
    if (message.compiledRDKit) useCompiledRDKit(message.compiledRDKit);
    engine = message.engine;
    return;
  }
  void describeChunk(message).then((reply) => port.postMessage(reply));
});

async function describeChunk(request: PoolRequest): Promise<PoolReply> {
  try {
    chemistry ??= Chemistry.load(engine ? { engine } : {});
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
