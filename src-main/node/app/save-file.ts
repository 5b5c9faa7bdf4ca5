// The Electron "save file" handler without Electron: validates what the renderer sent, asks
// the dialog for a path, and writes only there. main.ts injects the dialog and the writer, so
// the unit tests drive this with fakes (Electron cannot run on CI).
import { basename, extname } from 'node:path';
import { type SaveFileKind, SaveFileRequest, type SaveFileResult } from '../../shared/api/bridge.js';
import { describeIssues } from '../../shared/api/errors.js';

export interface SaveDialogOptions {
  title: string;
  defaultPath: string;
  filters: { name: string; extensions: string[] }[];
}

export interface SaveFileDeps {
  /** Resolves to the chosen path, or null when the user cancelled. */
  showSaveDialog(options: SaveDialogOptions): Promise<string | null>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /** Folder the dialog starts in (the user's documents). */
  defaultFolder: string;
  joinPath(folder: string, name: string): string;
}

const FILTERS: Record<SaveFileKind, { name: string; extensions: string[] }> = {
  svg: { name: 'SVG vector image', extensions: ['svg'] },
  png: { name: 'PNG image', extensions: ['png'] },
  pdf: { name: 'PDF document', extensions: ['pdf'] },
  csv: { name: 'CSV table', extensions: ['csv'] },
  json: { name: 'JSON data', extensions: ['json'] },
};

export function saveDialogOptions(request: SaveFileRequest, deps: Pick<SaveFileDeps, 'defaultFolder' | 'joinPath'>): SaveDialogOptions {
  const filter = FILTERS[request.kind];
  // The suggested name always ends in the kind's extension, whatever the renderer sent.
  const name =
    extname(request.suggestedName).slice(1).toLowerCase() === request.kind
      ? request.suggestedName
      : `${request.suggestedName}.${request.kind}`;
  return { title: `Save ${filter.name}`, defaultPath: deps.joinPath(deps.defaultFolder, basename(name)), filters: [filter] };
}

export async function handleSaveFile(payload: unknown, deps: SaveFileDeps): Promise<SaveFileResult> {
  const parsed = SaveFileRequest.safeParse(payload);
  if (!parsed.success) return { saved: false, reason: 'refused', message: describeIssues('Invalid save request', parsed.error) };
  const request = parsed.data;
  const path = await deps.showSaveDialog(saveDialogOptions(request, deps));
  if (!path) return { saved: false, reason: 'cancelled' };
  await deps.writeFile(path, request.data);
  return { saved: true, path };
}
