// Waiting for a lab job (import, training, study) from a test: its finished or failed event.

import type { LabService } from '../../src-main/node/lab/service.js';
import type { LabEvent } from '../../src-main/shared/api/protocol.js';

export function waitForJob(lab: LabService, jobId: string): Promise<{ ok: true; result: unknown } | { ok: false; message: string }> {
  return new Promise((resolve) => {
    lab.onEvent((event: LabEvent) => {
      if (event.type === 'job.finished' && event.jobId === jobId) resolve({ ok: true, result: event.result });
      if (event.type === 'job.failed' && event.jobId === jobId) resolve({ ok: false, message: event.error.message });
    });
  });
}
