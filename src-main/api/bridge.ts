// What the Electron preload exposes to the renderer as window.cellshift: the smallest bridge
// that carries LabApi envelopes, nothing else (no Node, no ipcRenderer, no file system).
export const IPC_CALL_CHANNEL = 'cellshift:call';
export const IPC_EVENT_CHANNEL = 'cellshift:event';
/** The native open dialog and uploads of dropped files (FilesIpcRequest in files.ts). */
export const IPC_FILES_CHANNEL = 'cellshift:files';

export interface CellShiftBridge {
  call(request: unknown): Promise<unknown>;
  onEvent(listener: (event: unknown) => void): () => void;
  /** Files the user chooses: main answers with grants, never the renderer with paths. */
  files(request: unknown): Promise<unknown>;
}
