// A lab on a fresh temporary database for one describe block: opened before its tests, closed and
// deleted after them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { closeLab, type OpenLabOptions, openLab } from '../src-main/node/lab/open.js';
import type { LabService } from '../src-main/node/lab/service.js';
import { TrainingConfig, type TrainingConfigInput } from '../src-main/shared/api/training.js';

export interface TempLab {
  readonly lab: LabService;
  readonly dir: string;
}

export function useTempLab(prefix: string, options: Partial<Omit<OpenLabOptions, 'databasePath'>> = {}): TempLab {
  let lab: LabService | undefined;
  let dir: string | undefined;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), `cellshift-${prefix}-`));
    lab = await openLab({ carrier: 'cli', seedDemo: false, ...options, databasePath: join(dir, 'lab.db') });
  });
  after(async () => {
    if (lab) await closeLab(lab);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get lab() {
      if (!lab) throw new Error('the temporary lab is opened in before()');
      return lab;
    },
    get dir() {
      if (!dir) throw new Error('the temporary lab is opened in before()');
      return dir;
    },
  };
}

/** Trains one run on the dataset until it settles (completed, diverged or failed); its id. */
export async function trainSettled(lab: LabService, datasetId: string, config: TrainingConfigInput): Promise<string> {
  const run = lab.training.start(datasetId, TrainingConfig.parse(config));
  await lab.training.settled(run.id);
  return run.id;
}
