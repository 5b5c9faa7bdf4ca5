// Where a sweep's or a study's runs train: here (a pool of training workers) or as a Slurm job
// array written as a bundle in an allowed folder. One choice, shared by the Sweep and Studies
// panels (ExecutorPicker.svelte), giving the LabApi's executor parameter.
import type { AllowedFolder } from '../../../../src-main/shared/api/files.js';

export class ExecutorChoice {
  kind = $state<'local' | 'slurm'>('local');
  workers = $state(1);
  folders = $state<AllowedFolder[]>([]);
  folderId = $state('');
  bundleName = $state('');
  partition = $state('');
  time = $state('');
  mem = $state('');
  account = $state('');
  cpusPerTask = $state(1);

  constructor(bundleName: string) {
    this.bundleName = bundleName;
  }

  /** A bundle needs an allowed folder to be written in. */
  get ready(): boolean {
    return this.kind === 'local' || this.folderId !== '';
  }

  setFolders(folders: AllowedFolder[]): void {
    this.folders = folders;
    if (!this.folderId && folders[0]) this.folderId = folders[0].folderId;
  }

  /** The executor as `plans.sweep` and `studies.start` take it (empty Slurm fields are left to the defaults). */
  get executor() {
    if (this.kind === 'local') return { kind: 'local' as const, workers: this.workers };
    const slurm = {
      ...(this.partition ? { partition: this.partition } : {}),
      ...(this.time ? { time: this.time } : {}),
      ...(this.mem ? { mem: this.mem } : {}),
      ...(this.account ? { account: this.account } : {}),
      cpusPerTask: this.cpusPerTask,
    };
    return { kind: 'slurm' as const, folderId: this.folderId, bundleName: this.bundleName, slurm };
  }
}
