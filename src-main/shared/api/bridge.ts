// What the Electron preload exposes to the renderer as window.cellshift: the smallest bridge
// that carries LabApi envelopes, nothing else (no Node, no ipcRenderer, no file system), plus
// one way out for exports: "save these bytes", where the user picks the path in a native dialog.
import { z } from 'zod';

export const IPC_CALL_CHANNEL = 'cellshift:call';
export const IPC_EVENT_CHANNEL = 'cellshift:event';
export const IPC_SAVE_FILE_CHANNEL = 'cellshift:save-file';

/** Exports are figures and tables; anything bigger than this is a mistake, not a figure. */
export const MAX_SAVE_BYTES = 256 * 1024 * 1024;

export const SaveFileKind = z.enum(['svg', 'png', 'pdf', 'csv', 'json']);
export type SaveFileKind = z.infer<typeof SaveFileKind>;

export const SaveFileRequest = z.strictObject({
  /** A bare file name offered in the dialog; the user chooses the folder (and may rename). */
  suggestedName: z
    .string()
    .min(1)
    .max(255)
    .refine((name) => !/[/\\\0]/.test(name) && name !== '.' && name !== '..', 'must be a file name, not a path'),
  kind: SaveFileKind,
  data: z.instanceof(Uint8Array).refine((bytes) => bytes.byteLength <= MAX_SAVE_BYTES, 'is larger than 256 MiB'),
});
export type SaveFileRequest = z.infer<typeof SaveFileRequest>;

export const SaveFileResult = z.discriminatedUnion('saved', [
  z.object({ saved: z.literal(true), path: z.string() }),
  z.object({ saved: z.literal(false), reason: z.enum(['cancelled', 'refused']), message: z.string().optional() }),
]);
export type SaveFileResult = z.infer<typeof SaveFileResult>;
/** The native open dialog and uploads of dropped files (FilesIpcRequest in files.ts). */
export const IPC_FILES_CHANNEL = 'cellshift:files';

export interface CellShiftBridge {
  call(request: unknown): Promise<unknown>;
  onEvent(listener: (event: unknown) => void): () => void;
  /** Desktop only: shows a save dialog and writes the bytes to the path the user chose. */
  saveFile?(request: SaveFileRequest): Promise<SaveFileResult>;
  /** Files the user chooses: main answers with grants, never the renderer with paths. */
  files(request: unknown): Promise<unknown>;
}
