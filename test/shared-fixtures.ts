// Real data from ../shared beside the repository (read at run time, never copied in), and
// importing such files into a test lab.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LabService } from '../src-main/node/lab/service.js';
import type { ResolvedImportInput } from '../src-main/shared/api/imports.js';
import type { LabEvent } from '../src-main/shared/api/protocol.js';

export const REAL_L1000_DIR = fileURLToPath(new URL('../../shared/fixtures/real-l1000/', import.meta.url));

/** The path of a real L1000 fixture, or a reason to skip when ../shared is not beside the repository. */
export function realL1000(name: string): { path: string; skip: false } | { path: null; skip: string } {
  const path = `${REAL_L1000_DIR}${name}`;
  return existsSync(path) ? { path, skip: false } : { path: null, skip: `${path} is absent (../shared is not beside the repository)` };
}

/** Imports files through the lab as the command line does; resolves with the new dataset's id. */
export async function importPaths(lab: LabService, input: ResolvedImportInput): Promise<string> {
  const request = await lab.imports.requestFromPaths(input);
  let started: string | undefined;
  const finished = new Promise<string>((resolve, reject) => {
    lab.onEvent((event: LabEvent) => {
      if (event.type === 'job.finished' && event.jobId === started) resolve((event.result as { id: string }).id);
      if (event.type === 'job.failed' && event.jobId === started) reject(new Error(event.error.message));
    });
  });
  started = (await lab.imports.start(request)).jobId;
  return finished;
}
