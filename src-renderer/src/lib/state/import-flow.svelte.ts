// One import, step by step: files come in (dialog, picker, drop, allowed folder), each uploads
// with progress and cancel and gets a role; then the settings, a preview of what survives,
// the import job with progress and cancel, and a summary of what was stored.
import { DatasetSummary } from '../../../../src-main/shared/api/domain.js';
import type { FileGrant, FileRole, FileSources } from '../../../../src-main/shared/api/files.js';
import {
  EnvironmentKey,
  type ImportFiles,
  type ImportPreview,
  ImportRequest,
  type ImportRequestInput,
  UnlabelledSamples,
} from '../../../../src-main/shared/api/imports.js';
import type { LabEvent } from '../../../../src-main/shared/api/protocol.js';
import type { FileAccess } from '../api/files.js';
import type { LabState } from './lab.svelte.js';

export type Assignment = FileRole | 'ignore';

export const ROLES: { role: FileRole; label: string; field: keyof ImportFiles }[] = [
  { role: 'matrix', label: 'Expression matrix', field: 'matrix' },
  { role: 'sig_info', label: 'sig_info (samples)', field: 'sigInfo' },
  { role: 'pert_info', label: 'pert_info (drugs, SMILES)', field: 'pertInfo' },
  { role: 'gene_info', label: 'gene_info (landmarks)', field: 'geneInfo' },
  { role: 'sample_metadata', label: 'Sample metadata (obs) for CSV/TSV', field: 'sampleMetadata' },
];

let nextKey = 1;

export class ImportEntry {
  readonly key = nextKey++;
  readonly name: string;
  readonly size: number;
  status = $state<'uploading' | 'ready' | 'failed'>('uploading');
  loaded = $state(0);
  grant = $state<FileGrant | null>(null);
  role = $state<Assignment>('ignore');
  error = $state<string | null>(null);
  readonly controller = new AbortController();

  constructor(name: string, size: number) {
    this.name = name;
    this.size = size;
  }
}

export interface ImportSummaryView {
  datasetId: string;
  name: string;
  samples: number;
  genes: number;
  environments: number;
  cellLines: string[];
  doses: string[];
}

export interface ImportJobView {
  jobId: string | null;
  fraction: number | null;
  message: string;
  status: 'running' | 'finished' | 'failed' | 'cancelled';
}

export class ImportFlow {
  readonly #lab: LabState;
  readonly #files: FileAccess;
  entries = $state<ImportEntry[]>([]);
  sources = $state<FileSources | null>(null);

  environmentKey = $state<EnvironmentKey>('drug');
  landmarkOnly = $state(true);
  /** A matrix without sample metadata: one environment, or one per sample. */
  unlabelledSamples = $state<UnlabelledSamples>('one-environment');
  cellLines = $state('');
  minReplicates = $state(1);
  name = $state('');

  preview = $state<ImportPreview | null>(null);
  #previewKey = $state<string | null>(null);
  previewing = $state(false);
  job = $state<ImportJobView | null>(null);
  summary = $state<ImportSummaryView | null>(null);

  readonly uploading = $derived(this.entries.some((e) => e.status === 'uploading'));
  readonly input = $derived.by((): { request: ImportRequest | null; problem: string | null } => {
    const files: Partial<Record<keyof ImportFiles, string>> = {};
    for (const { role, label, field } of ROLES) {
      const chosen = this.entries.filter((e) => e.role === role && e.grant);
      if (chosen.length > 1) return { request: null, problem: `Two files are marked as ${label}; keep one.` };
      if (chosen[0]?.grant) files[field] = chosen[0].grant.grantId;
    }
    if (!files.matrix) return { request: null, problem: this.entries.length > 0 ? 'Mark one file as the expression matrix.' : null };
    const cells = this.cellLines
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean);
    const input: ImportRequestInput = {
      files: files as ImportFiles,
      environmentKey: this.environmentKey,
      unlabelledSamples: this.unlabelledSamples,
      ...(this.name.trim() ? { name: this.name.trim() } : {}),
      filter: { landmarkOnly: this.landmarkOnly, minReplicates: this.minReplicates, ...(cells.length > 0 ? { cellLines: cells } : {}) },
    };
    const parsed = ImportRequest.safeParse(input);
    return parsed.success
      ? { request: parsed.data, problem: null }
      : { request: null, problem: parsed.error.issues[0]?.message ?? 'Invalid settings' };
  });
  /** A preview belongs to the files and settings it was made with. */
  readonly currentPreview = $derived(
    this.preview && this.input.request && this.#previewKey === JSON.stringify(this.input.request) ? this.preview : null,
  );

  constructor(lab: LabState, files: FileAccess) {
    this.#lab = lab;
    this.#files = files;
  }

  async loadSources(): Promise<void> {
    this.sources =
      (await this.#lab.attempt('Could not ask the lab which files it can open', () => this.#lab.client.call('files.sources', {}))) ?? null;
  }

  get canUpload(): boolean {
    return this.sources?.upload != null;
  }

  /** The desktop's native dialog: main opens the files and answers with grants. */
  async chooseInDialog(): Promise<void> {
    const open = this.#files.openDialog;
    if (!open) return;
    const grants = await this.#lab.attempt('Could not open the files', open);
    for (const grant of grants ?? []) this.#addGrant(grant);
  }

  /** Files picked in the page or dropped on it: each is uploaded, one after another. */
  async addFiles(files: File[]): Promise<void> {
    this.#startOver();
    const added = files.map((file) => ({ file, entry: new ImportEntry(file.name, file.size) }));
    this.entries.push(...added.map((a) => a.entry));
    const limit = this.sources?.upload?.maxBytes ?? null;
    for (const { file, entry } of added) {
      if (entry.controller.signal.aborted) continue;
      if (limit !== null && file.size > limit) {
        this.#fail(entry, `${file.name} is larger than the lab takes as an upload; start it with --allow-dir for that folder instead.`);
        continue;
      }
      try {
        const grant = await this.#files.upload(file, (loaded) => (entry.loaded = loaded), entry.controller.signal);
        if (entry.controller.signal.aborted) {
          void this.#release(grant.grantId);
          continue;
        }
        entry.loaded = entry.size;
        this.#ready(entry, grant);
      } catch (error) {
        if (entry.controller.signal.aborted) continue;
        this.#fail(entry, error instanceof Error ? error.message : String(error));
      }
    }
  }

  /** A file inside a folder allowed at launch. */
  async addFromFolder(folderId: string, path: string): Promise<void> {
    this.#startOver();
    const grant = await this.#lab.attempt('Could not open the file', () => this.#lab.client.call('files.grant', { folderId, path }));
    if (grant) this.#addGrant(grant);
  }

  /** Cancels an upload in progress, or lets go of a file already in. */
  remove(entry: ImportEntry): void {
    entry.controller.abort();
    this.entries = this.entries.filter((e) => e.key !== entry.key);
    if (entry.grant) void this.#release(entry.grant.grantId);
  }

  setRole(entry: ImportEntry, role: Assignment): void {
    // A role belongs to one file: whoever had it gives it up.
    if (role !== 'ignore') for (const other of this.entries) if (other !== entry && other.role === role) other.role = 'ignore';
    entry.role = role;
  }

  async runPreview(): Promise<void> {
    const request = this.input.request;
    if (!request) return;
    this.previewing = true;
    const key = JSON.stringify(request);
    const preview = await this.#lab.attempt('Could not read the files', () => this.#lab.client.call('imports.preview', { request }));
    this.previewing = false;
    if (preview) {
      this.preview = preview;
      this.#previewKey = key;
    }
  }

  async startImport(): Promise<void> {
    const request = this.input.request;
    const preview = this.currentPreview;
    if (!request || !preview) return;
    this.job = { jobId: null, fraction: null, message: 'Starting…', status: 'running' };
    // Events can arrive before the call that started the job returns: keep them until it does.
    const early: LabEvent[] = [];
    const stop = this.#lab.client.onEvent((event) => {
      if (event.type !== 'job.progress' && event.type !== 'job.finished' && event.type !== 'job.failed') return;
      if (event.kind !== 'import') return;
      if (this.job?.jobId === null) early.push(event);
      else if (event.jobId === this.job?.jobId) this.#onJobEvent(event, preview, stop);
    });
    const started = await this.#lab.attempt('Could not start the import', () => this.#lab.client.call('imports.start', { request }));
    if (!started) {
      stop();
      this.job = null;
      return;
    }
    this.job.jobId = started.jobId;
    this.#lab.trackJob(started.jobId, `Import ${this.entries.find((e) => e.role === 'matrix')?.name ?? 'data'}`);
    for (const event of early) if ('jobId' in event && event.jobId === started.jobId) this.#onJobEvent(event, preview, stop);
  }

  async cancelImport(): Promise<void> {
    const jobId = this.job?.jobId;
    if (jobId) await this.#lab.cancelJob(jobId);
  }

  /** After a summary: a clean slate for the next import. */
  reset(): void {
    for (const entry of this.entries) this.remove(entry);
    this.entries = [];
    this.preview = null;
    this.#previewKey = null;
    this.job = null;
    this.summary = null;
    this.name = '';
  }

  #onJobEvent(event: LabEvent, preview: ImportPreview, stop: () => void): void {
    const job = this.job;
    if (!job) return;
    if (event.type === 'job.progress') {
      job.fraction = event.fraction;
      job.message = event.message;
    } else if (event.type === 'job.finished') {
      stop();
      const dataset = DatasetSummary.safeParse(event.result);
      job.status = 'finished';
      job.fraction = 1;
      job.message = 'Stored';
      if (dataset.success) {
        const known = (values: { value: string }[]) => values.map((v) => v.value).filter((v) => v !== '(missing)');
        this.summary = {
          datasetId: dataset.data.id,
          name: dataset.data.name,
          samples: dataset.data.nSamples,
          genes: dataset.data.nGenes,
          environments: dataset.data.nEnvironments,
          cellLines: known(preview.cellLines),
          doses: known(preview.doses),
        };
        this.#lab.selectDataset(dataset.data.id);
        // The lab deleted the uploaded copies once stored (their grants went with them); the rest are let go.
        for (const entry of this.entries) if (entry.grant && entry.grant.source !== 'upload') void this.#release(entry.grant.grantId);
        this.entries = [];
      }
    } else if (event.type === 'job.failed') {
      stop();
      job.status = event.error.code === 'cancelled' ? 'cancelled' : 'failed';
      job.message = event.error.code === 'cancelled' ? 'Cancelled: nothing was stored.' : event.error.message;
    }
  }

  /** Adding files after a finished import begins the next one. */
  #startOver(): void {
    if (this.summary || this.job?.status === 'failed' || this.job?.status === 'cancelled') {
      this.summary = null;
      this.job = null;
    }
  }

  #addGrant(grant: FileGrant): void {
    const entry = new ImportEntry(grant.name, grant.size);
    this.entries.push(entry);
    this.#ready(entry, grant);
  }

  #ready(entry: ImportEntry, grant: FileGrant): void {
    entry.grant = grant;
    entry.status = 'ready';
    const taken = this.entries.some((e) => e !== entry && e.role === grant.suggestedRole);
    entry.role = grant.suggestedRole && !taken ? grant.suggestedRole : 'ignore';
  }

  #fail(entry: ImportEntry, message: string): void {
    entry.status = 'failed';
    entry.error = message;
  }

  async #release(grantId: string): Promise<void> {
    await this.#lab.attempt('Could not let go of the file', () => this.#lab.client.call('files.release', { grantId }));
  }
}

export const environmentKeys = EnvironmentKey.options;
export const unlabelledModes = UnlabelledSamples.options;
