// The files channel of the desktop window: main shows the native open dialog itself and answers
// with grants; files dropped on the window arrive as bytes (in chunks) into the inbox. The page
// never names a path, so a compromised page cannot make the lab open one.
import { BrowserWindow, dialog, type IpcMainInvokeEvent, ipcMain } from 'electron';
import type { LabService } from '../node/lab/service.js';
import { IPC_FILES_CHANNEL } from '../shared/api/bridge.js';
import { describeIssues, LabError } from '../shared/api/errors.js';
import { type FileGrant, type FilesIpcReply, FilesIpcRequest } from '../shared/api/files.js';

const DIALOG_FILTERS = [
  { name: 'Expression data and tables', extensions: ['gctx', 'gct', 'h5ad', 'h5', 'csv', 'tsv', 'txt'] },
  { name: 'All files', extensions: ['*'] },
];

/** Installs the handler; returns its removal. `isOurPage` is main's check of the sending frame. */
export function handleFilesChannel(service: LabService, isOurPage: (url: string | undefined) => boolean): () => void {
  // Uploads belong to the page that began them: another frame cannot write into or end them.
  const owners = new Map<string, number>();

  const handle = async (event: IpcMainInvokeEvent, raw: unknown): Promise<unknown> => {
    if (!isOurPage(event.senderFrame?.url)) {
      return { ok: false, error: { code: 'unauthorized', message: 'IPC from an unexpected page was refused' } };
    }
    const parsed = FilesIpcRequest.safeParse(raw);
    if (!parsed.success) return { ok: false, error: { code: 'invalid_params', message: describeIssues('files', parsed.error) } };
    const request = parsed.data;
    const sender = event.sender.id;
    if ('uploadId' in request && owners.get(request.uploadId) !== sender) {
      return { ok: false, error: { code: 'not_found', message: `No upload ${request.uploadId} in progress` } };
    }
    try {
      switch (request.op) {
        case 'open-dialog': {
          const window = BrowserWindow.fromWebContents(event.sender);
          const chosen = window
            ? await dialog.showOpenDialog(window, {
                title: 'Choose data files to import',
                properties: ['openFile', 'multiSelections'],
                filters: DIALOG_FILTERS,
              })
            : null;
          const grants: FileGrant[] = [];
          if (chosen && !chosen.canceled) for (const path of chosen.filePaths) grants.push(await service.files.trust(path, 'dialog'));
          return reply(grants);
        }
        case 'upload-begin': {
          const uploadId = await service.files.beginUpload(request.name, request.size);
          owners.set(uploadId, sender);
          return reply({ uploadId });
        }
        case 'upload-chunk':
          return reply({ received: await service.files.writeUpload(request.uploadId, request.data) });
        case 'upload-finish':
          owners.delete(request.uploadId);
          return reply(await service.files.finishUpload(request.uploadId));
        case 'upload-abort':
          owners.delete(request.uploadId);
          return reply({ aborted: await service.files.abortUpload(request.uploadId) });
      }
    } catch (error) {
      // A failed upload step ends the upload (the inbox has already removed its partial file).
      if ('uploadId' in request) {
        owners.delete(request.uploadId);
        await service.files.abortUpload(request.uploadId);
      }
      const labError = error instanceof LabError ? error : new LabError('internal', error instanceof Error ? error.message : String(error));
      if (labError.code === 'internal') console.error(error);
      return { ok: false, error: labError.toPayload() } satisfies FilesIpcReply;
    }
  };

  ipcMain.handle(IPC_FILES_CHANNEL, handle);
  return () => ipcMain.removeHandler(IPC_FILES_CHANNEL);
}

function reply(result: unknown): FilesIpcReply {
  return { ok: true, result };
}
