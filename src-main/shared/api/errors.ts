// Errors that cross the process boundary: a stable code a program can branch on and a
// message a person can act on.
import { z } from 'zod';

export const ErrorCode = z.enum([
  'invalid_message', // the envelope itself is malformed
  'unknown_method',
  'invalid_params',
  'invalid_result', // the service broke its own contract: a bug
  'not_found',
  'conflict',
  'bad_input', // a file or value the user supplied is unusable
  'cancelled',
  'no_space', // the disk has no room for what was asked (e.g. an upload)
  'unauthorized',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorPayload = z.object({
  code: ErrorCode,
  message: z.string(),
  /** Machine-readable specifics, e.g. the offending path of each validation issue. */
  details: z.unknown().optional(),
});
export type ErrorPayload = z.infer<typeof ErrorPayload>;

/** Thrown by services and clients; carries an ErrorPayload across carriers unchanged. */
export class LabError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'LabError';
    this.code = code;
    this.details = details;
  }

  toPayload(): ErrorPayload {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static fromPayload(payload: ErrorPayload): LabError {
    return new LabError(payload.code, payload.message, payload.details);
  }
}

/** One line per zod issue, naming where in the message it is: "params.id: expected string". */
export function describeIssues(prefix: string, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = [prefix, ...issue.path.map(String)].filter((p) => p.length > 0).join('.');
      return `${where || '(message)'}: ${issue.message}`;
    })
    .join('; ');
}
