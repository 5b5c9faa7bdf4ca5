// Opening the lab for a carrier: the database, the service, and the first-start demo data.
import type { BackendName } from '../ml/backend.js';
import type { OpenOptions } from '../store/database.js';
import { Store } from '../store/store.js';
import { type Carrier, LabService } from './service.js';

export interface OpenLabOptions extends OpenOptions {
  databasePath: string;
  carrier: Carrier;
  /** Seed the demo dataset on first start (default true). */
  seedDemo?: boolean;
  preferBackend?: BackendName;
}

export async function openLab(options: OpenLabOptions): Promise<LabService> {
  const store = Store.open(options.databasePath, options);
  const service = new LabService({
    store,
    carrier: options.carrier,
    ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
    ...(options.preferBackend ? { preferBackend: options.preferBackend } : {}),
  });
  try {
    if (options.seedDemo !== false) await service.ensureDemoDataset();
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
