// Runs sandboxed in the renderer before the page: exposes window.cellshift and nothing more.
import type { IpcRendererEvent } from 'electron';

import electron = require('electron');

const { contextBridge, ipcRenderer } = electron;

// Sandboxed preloads cannot require our modules, so the channel names are repeated here;
// test/unit/electron-contract.test.ts checks that they match src-main/shared/api/bridge.ts.
const IPC_CALL_CHANNEL = 'cellshift:call';
const IPC_EVENT_CHANNEL = 'cellshift:event';
const IPC_SAVE_FILE_CHANNEL = 'cellshift:save-file';
const IPC_FILES_CHANNEL = 'cellshift:files';

contextBridge.exposeInMainWorld('cellshift', {
  call: (request: unknown): Promise<unknown> => ipcRenderer.invoke(IPC_CALL_CHANNEL, request),
  // The open dialog runs in main and answers with grants; dropped files travel as bytes, never as paths.
  files: (request: unknown): Promise<unknown> => ipcRenderer.invoke(IPC_FILES_CHANNEL, request),
  onEvent: (listener: (event: unknown) => void): (() => void) => {
    const forward = (_event: IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(IPC_EVENT_CHANNEL, forward);
    return () => {
      ipcRenderer.removeListener(IPC_EVENT_CHANNEL, forward);
    };
  },
  // The main process validates the request and writes only where the user chose in its dialog.
  saveFile: (request: unknown): Promise<unknown> => ipcRenderer.invoke(IPC_SAVE_FILE_CHANNEL, request),
});
