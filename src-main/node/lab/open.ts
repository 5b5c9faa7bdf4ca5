// Opening the lab for a carrier: the database, the service, the files it may open, and the
// first-start demo data.
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BackendName } from '../ml/backend.js';
import type { OpenOptions } from '../store/database.js';
import { Store } from '../store/store.js';
import { FileGrants } from './files/grants.js';
import { type Carrier, type DemoKind, LabService } from './service.js';

export interface OpenLabOptions extends OpenOptions {
  databasePath: string;
  carrier: Carrier;
  /** Seed the demo dataset on first start (default true). */
  seedDemo?: boolean;
  /** Which demo a new lab gets (default the drug panel with real structures). */
  demo?: DemoKind;
  preferBackend?: BackendName;
  /** Folders the user allowed at launch (`--allow-dir`): the renderer may browse and pick inside them. */
  allowedDirs?: readonly string[];
  /** Accept uploaded files into the inbox next to the database (browser mode, files dropped on the window). */
  uploads?: { maxBytes?: number };
}

/** Uploads land next to the database: the per-user app-data folder unless --db says otherwise. */
export function inboxRoot(databasePath: string): string {
  return databasePath === ':memory:' ? join(tmpdir(), 'cellshift-inbox') : join(dirname(databasePath), 'inbox');
}

export async function openLab(options: OpenLabOptions): Promise<LabService> {
  // Folders are checked first: a mistyped --allow-dir stops the launch before anything opens.
  const files = await FileGrants.open({
    allowedDirs: options.allowedDirs ?? [],
    ...(options.uploads ? { inbox: { root: inboxRoot(options.databasePath), ...options.uploads } } : {}),
  });
  const store = Store.open(options.databasePath, options);
  const service = new LabService({
    store,
    carrier: options.carrier,
    files,
    ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
    ...(options.preferBackend ? { preferBackend: options.preferBackend } : {}),
  });
  try {
    if (options.seedDemo !== false) await service.ensureDemoDataset(options.demo);
  } catch (error) {
    store.close();
    throw error;
  }
  return service;
}

export async function closeLab(service: LabService): Promise<void> {
  await service.close();
  service.store.close();
}
