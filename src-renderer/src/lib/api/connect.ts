// Picks the carrier: the Electron bridge when the preload installed one, else loopback HTTP
// with the per-launch token from the URL (kept for this tab, removed from the address bar).
import type { CellShiftBridge } from '../../../../src-main/shared/api/bridge.js';
import { LabClient } from '../../../../src-main/shared/api/client.js';
import { httpCarrier, ipcCarrier } from './carriers.js';
import { type FileAccess, httpFileAccess, ipcFileAccess } from './files.js';

const TOKEN_KEY = 'cellshift.token';

declare global {
  interface Window {
    cellshift?: CellShiftBridge;
  }
}

export interface Connection {
  client: LabClient;
  files: FileAccess;
}

export function connectToLab(): Connection {
  if (window.cellshift) return { client: new LabClient(ipcCarrier(window.cellshift)), files: ipcFileAccess(window.cellshift) };
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.toString());
  }
  const token = fromUrl ?? sessionStorage.getItem(TOKEN_KEY) ?? '';
  return { client: new LabClient(httpCarrier(window.location.origin, token)), files: httpFileAccess(window.location.origin, token) };
}
