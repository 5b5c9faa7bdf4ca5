// Envelopes shared by both carriers (Electron IPC and loopback HTTP/WebSocket), and the
// validation every message gets when it crosses a process boundary.
import { z } from 'zod';
import { DatasetSummary, Id, JobKind, RunSummary } from './domain.js';
import { describeIssues, ErrorPayload, LabError } from './errors.js';
import { isMethodName, type MethodName, methods, type ResultOf, type ValidParamsOf } from './methods.js';

export const RequestEnvelope = z.strictObject({
  id: z.union([z.number().int(), z.string().max(64)], {
    error: (issue) => (issue.input === undefined ? 'missing' : 'must be a safe integer or a string of at most 64 characters'),
  }),
  method: z.string().max(100),
  params: z.unknown().optional(),
});
export type RequestEnvelope = z.infer<typeof RequestEnvelope>;

export const ResponseEnvelope = z.union([
  z.strictObject({ id: RequestEnvelope.shape.id, ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ id: RequestEnvelope.shape.id.nullable(), ok: z.literal(false), error: ErrorPayload }),
]);
export type ResponseEnvelope = z.infer<typeof ResponseEnvelope>;

/** Events pushed from the lab to every connected renderer. */
export const LabEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('job.progress'),
    jobId: Id,
    kind: JobKind,
    /** 0..1, or null while the total is unknown. */
    fraction: z.number().min(0).max(1).nullable(),
    message: z.string(),
  }),
  z.object({ type: z.literal('job.finished'), jobId: Id, kind: JobKind, result: z.unknown() }),
  z.object({ type: z.literal('job.failed'), jobId: Id, kind: JobKind, error: ErrorPayload }),
  z.object({ type: z.literal('datasets.changed'), datasets: z.array(DatasetSummary) }),
  z.object({
    type: z.literal('run.progress'),
    runId: Id,
    epoch: z.number().int(),
    step: z.number().int(),
    batchInEpoch: z.number().int(),
    batchesPerEpoch: z.number().int(),
    metrics: z.record(z.string(), z.number()),
  }),
  z.object({
    type: z.literal('run.epoch'),
    runId: Id,
    epoch: z.number().int(),
    step: z.number().int(),
    train: z.record(z.string(), z.number()),
    validation: z.record(z.string(), z.number()).nullable(),
    samplesPerSecond: z.number(),
    numTensors: z.number().int(),
  }),
  z.object({ type: z.literal('run.status'), run: RunSummary }),
]);
export type LabEvent = z.infer<typeof LabEvent>;

export interface ValidatedRequest<M extends MethodName = MethodName> {
  id: RequestEnvelope['id'];
  method: M;
  params: ValidParamsOf<M>;
}

/** At most this many validation issues are spelled out in a message (and listed in its details). */
const MAX_LISTED_ISSUES = 5;
const MAX_ISSUE_CHARS = 300;

/**
 * describeIssues, bounded: a request with 100,000 unknown keys or wrong array elements would
 * otherwise get a message (and details) of megabytes, echoed back over the carrier.
 */
function boundedIssues(prefix: string, error: z.ZodError): string {
  const shown = error.issues.slice(0, MAX_LISTED_ISSUES).map((issue) => {
    // zod says "Invalid input: expected string, received undefined" for a missing field.
    const missing = /^Invalid input: expected (.+), received undefined$/.exec(issue.message);
    const message = missing ? `missing (expected ${missing[1]})` : issue.message;
    return { ...issue, message: message.length <= MAX_ISSUE_CHARS ? message : `${message.slice(0, MAX_ISSUE_CHARS)}…` };
  });
  const text = describeIssues(prefix, new z.ZodError(shown));
  const more = error.issues.length - shown.length;
  return more > 0 ? `${text}; and ${more} more` : text;
}

/** Checks an incoming request envelope and its params; throws LabError with a specific reason. */
export function parseRequest(raw: unknown): ValidatedRequest {
  const { id, method, params } = parseRequestEnvelope(raw);
  return { id, method, params: parseParams(method, params, id) };
}

/** The envelope and method of a request, its params not yet checked (parseParams does, where they are used). */
export function parseRequestEnvelope(raw: unknown): { id: RequestEnvelope['id']; method: MethodName; params: unknown } {
  const envelope = RequestEnvelope.safeParse(raw);
  if (!envelope.success) {
    throw new LabError('invalid_message', `Malformed request: ${boundedIssues('', envelope.error)}`);
  }
  const { id, method } = envelope.data;
  if (!isMethodName(method)) {
    throw new LabError('unknown_method', `Unknown method "${method}"`, { id });
  }
  return { id, method, params: envelope.data.params };
}

/** Checks a method's params; throws LabError 'invalid_params' naming the first few problems. */
export function parseParams<M extends MethodName>(method: M, raw: unknown, id?: RequestEnvelope['id']): ValidParamsOf<M> {
  const params = methods[method].params.safeParse(raw ?? {});
  if (!params.success) {
    throw new LabError('invalid_params', `Invalid params for ${method}: ${boundedIssues('params', params.error)}`, {
      id,
      issues: params.error.issues
        .slice(0, MAX_LISTED_ISSUES)
        .map((i) => ({ path: i.path.map(String), message: i.message.slice(0, MAX_ISSUE_CHARS) })),
    });
  }
  return params.data as ValidParamsOf<M>;
}

/** Checks a result against its schema before it leaves (server) or after it arrives (client). */
export function parseResult<M extends MethodName>(method: M, raw: unknown): ResultOf<M> {
  const parsed = methods[method].result.safeParse(raw);
  if (!parsed.success) {
    throw new LabError('invalid_result', `Invalid result of ${method}: ${describeIssues('result', parsed.error)}`);
  }
  return parsed.data as ResultOf<M>;
}

export function parseResponse(raw: unknown): ResponseEnvelope {
  const parsed = ResponseEnvelope.safeParse(raw);
  if (!parsed.success) {
    throw new LabError('invalid_message', `Malformed response: ${describeIssues('', parsed.error)}`);
  }
  return parsed.data;
}

export function parseEvent(raw: unknown): LabEvent {
  const parsed = LabEvent.safeParse(raw);
  if (!parsed.success) {
    throw new LabError('invalid_message', `Malformed event: ${describeIssues('', parsed.error)}`);
  }
  return parsed.data;
}

/** Best-effort id of a request that failed validation, so the caller can match the error. */
export function requestIdOf(raw: unknown): RequestEnvelope['id'] | null {
  if (typeof raw === 'object' && raw !== null && 'id' in raw) {
    const id = (raw as { id: unknown }).id;
    if ((typeof id === 'number' && Number.isInteger(id)) || (typeof id === 'string' && id.length <= 64)) return id;
  }
  return null;
}
