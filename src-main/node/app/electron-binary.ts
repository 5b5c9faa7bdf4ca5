// Finds the Electron binary from plain Node, without loading Electron itself. The `electron`
// package is optional: its install downloads the binary and is dropped when that fails.
import { createRequire } from 'node:module';

export type ElectronAvailability = { available: true; binary: string; version: string } | { available: false; reason: string };

export function findElectron(): ElectronAvailability {
  const require = createRequire(import.meta.url);
  let binary: unknown;
  try {
    // In plain Node the package exports the path of the binary; it throws
    // "Electron failed to install correctly" when the download was skipped or failed.
    binary = require('electron');
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? '';
    const missing = (error as { code?: string }).code === 'MODULE_NOT_FOUND';
    return {
      available: false,
      reason: missing ? 'the optional "electron" package is not installed (its binary download failed or was skipped)' : message,
    };
  }
  if (typeof binary !== 'string') return { available: false, reason: 'the "electron" package did not report a binary path' };
  const version = (require('electron/package.json') as { version: string }).version;
  return { available: true, binary, version };
}
