// Messages between the serving side of a job worker thread (job-thread.ts) and the worker
// (serve-jobs.ts). A job gets progress meanwhile and exactly one final reply; a job may ask the
// serving side for something only it owns (an unpacked copy, a training run, an analysis) and
// waits for the answer; a notification is fire-and-forget.
import type { ErrorPayload } from '../../../shared/api/errors.js';

export type ToJobWorker =
  | { type: 'job'; id: number; name: string; input: unknown }
  | { type: 'cancel'; id: number }
  | { type: 'notify'; name: string }
  | { type: 'answer'; askId: number; value: unknown }
  | { type: 'answer-failed'; askId: number; error: ErrorPayload };

export type FromJobWorker =
  | { type: 'progress'; id: number; fraction: number | null; message: string }
  | { type: 'ask'; id: number; askId: number; name: string; input: unknown }
  | { type: 'done'; id: number; result: unknown }
  | { type: 'failed'; id: number; error: ErrorPayload };
