// How a worker thread answers one request of the lab (analysis-worker.ts, dataset-read-worker.ts):
// the result as it is, or, for a LabApi method, validated against that method's schema and
// encoded as UTF-8 JSON here, where it costs the serving thread nothing; failures as LabErrors.
import type { MessagePort } from 'node:worker_threads';
import { LabError } from '../../shared/api/errors.js';
import { parseParams, parseResult } from '../../shared/api/protocol.js';
import type { AnalysisReply, SerializeAs } from './worker-protocol.js';

function payloadOf(error: unknown): LabError {
  if (error instanceof LabError) return error;
  // An unexpected failure: keep the stack for whoever reads the app's log.
  console.error('Analysis failed:', error);
  return new LabError('internal', `Analysis failed: ${error instanceof Error ? error.message : String(error)}`);
}

/** Runs `compute` on the params (checked first when `serializeAs` asks) and posts its one reply. */
export async function answerRequest(
  port: MessagePort,
  id: number,
  params: unknown,
  serializeAs: SerializeAs | undefined,
  compute: (params: unknown) => Promise<unknown>,
): Promise<void> {
  try {
    const result = await compute(serializeAs?.checkParams ? parseParams(serializeAs.method, params) : params);
    if (!serializeAs) port.postMessage({ type: 'result', id, result } satisfies AnalysisReply);
    else {
      const answer = serializeAs.extra ? { ...(result as object), ...serializeAs.extra } : result;
      const bytes = new TextEncoder().encode(JSON.stringify(parseResult(serializeAs.method, answer)));
      // Transferred, not copied: the serving thread receives the buffer as it is.
      port.postMessage({ type: 'json', id, bytes } satisfies AnalysisReply, [bytes.buffer]);
    }
  } catch (error) {
    port.postMessage({ type: 'error', id, error: payloadOf(error).toPayload() } satisfies AnalysisReply);
  }
}
