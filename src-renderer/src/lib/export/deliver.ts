// Hands an exported file to the user: the desktop app's native save dialog when the preload
// bridge offers one, otherwise a browser download.
import type { SaveFileKind } from '../../../../src-main/shared/api/bridge.js';

export interface DeliveredFile {
  name: string;
  mediaType: string;
  bytes: Uint8Array;
}

export type Delivery = { saved: true; path: string | null } | { saved: false; cancelled: boolean; message?: string };

export async function deliverFile(file: DeliveredFile): Promise<Delivery> {
  const bridge = window.cellshift;
  const kind = file.name.split('.').pop()?.toLowerCase() as SaveFileKind;
  if (bridge?.saveFile) {
    const result = await bridge.saveFile({ suggestedName: file.name, kind, data: file.bytes as Uint8Array<ArrayBuffer> });
    if (result.saved) return { saved: true, path: result.path };
    return { saved: false, cancelled: result.reason === 'cancelled', ...(result.message ? { message: result.message } : {}) };
  }
  const url = URL.createObjectURL(new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: file.mediaType }));
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = file.name;
  anchor.click();
  // The download has started by now; revoke a little later for slower browsers.
  setTimeout(() => URL.revokeObjectURL(url), 5000);
  return { saved: true, path: null };
}
