// How files reach the lab from this window. The page never sends a path: in the desktop app the
// native dialog runs in main and answers with grants; files picked in the page or dropped on it
// are uploaded (browser mode: one streamed HTTP request; desktop: chunks over the bridge).
import type { CellShiftBridge } from '../../../../src-main/shared/api/bridge.js';
import { ErrorCode, LabError } from '../../../../src-main/shared/api/errors.js';
import {
  type FileGrant,
  FilesIpcReply,
  type FilesIpcRequest,
  FilesIpcResults,
  MAX_UPLOAD_CHUNK_BYTES,
  UPLOAD_PATH,
  UploadReply,
} from '../../../../src-main/shared/api/files.js';

export interface FileAccess {
  /** The native open dialog (desktop), or null: the page's own file input is the picker. */
  readonly openDialog: (() => Promise<FileGrant[]>) | null;
  /** Copies a picked or dropped file into the lab; `onProgress` gets bytes sent so far. */
  upload(file: File, onProgress: (loaded: number) => void, signal: AbortSignal): Promise<FileGrant>;
}

function cancelled(name: string): LabError {
  return new LabError('cancelled', `The upload of "${name}" was cancelled.`);
}

/** Browser mode: PUT the file as the request body; the browser streams it from disk. */
export function httpFileAccess(origin: string, token: string): FileAccess {
  return {
    openDialog: null,
    upload: (file, onProgress, signal) =>
      new Promise((resolve, reject) => {
        if (signal.aborted) return reject(cancelled(file.name));
        // XMLHttpRequest, not fetch: only it reports upload progress.
        const xhr = new XMLHttpRequest();
        xhr.open('PUT', `${origin}${UPLOAD_PATH}?name=${encodeURIComponent(file.name)}`);
        xhr.setRequestHeader('Authorization', `Bearer ${token}`);
        xhr.setRequestHeader('Content-Type', 'application/octet-stream');
        xhr.upload.onprogress = (event) => onProgress(event.loaded);
        xhr.onload = () => {
          let reply: ReturnType<typeof UploadReply.parse>;
          try {
            reply = UploadReply.parse(JSON.parse(xhr.responseText));
          } catch {
            return reject(new LabError('internal', `The lab answered the upload of "${file.name}" with HTTP ${xhr.status}.`));
          }
          if (reply.ok) resolve(reply.result);
          else reject(new LabError(asCode(reply.error.code), reply.error.message));
        };
        xhr.onerror = () => reject(new LabError('internal', `The upload of "${file.name}" failed: the lab could not be reached.`));
        xhr.onabort = () => reject(cancelled(file.name));
        signal.addEventListener('abort', () => xhr.abort(), { once: true });
        xhr.send(file);
      }),
  };
}

/** Desktop: the files channel of the preload bridge. */
export function ipcFileAccess(bridge: CellShiftBridge): FileAccess {
  async function request<Op extends FilesIpcRequest['op']>(
    message: Extract<FilesIpcRequest, { op: Op }>,
  ): Promise<ReturnType<(typeof FilesIpcResults)[Op]['parse']>> {
    const reply = FilesIpcReply.parse(await bridge.files(message));
    if (!reply.ok) throw new LabError(asCode(reply.error.code), reply.error.message);
    return FilesIpcResults[message.op].parse(reply.result) as ReturnType<(typeof FilesIpcResults)[Op]['parse']>;
  }
  return {
    openDialog: () => request({ op: 'open-dialog' }),
    async upload(file, onProgress, signal) {
      const { uploadId } = await request({ op: 'upload-begin', name: file.name, size: file.size });
      try {
        // One chunk in memory at a time: a GB-sized file is read from disk as it is sent.
        for (let offset = 0; offset < file.size; offset += MAX_UPLOAD_CHUNK_BYTES) {
          if (signal.aborted) throw cancelled(file.name);
          const data = new Uint8Array(await file.slice(offset, offset + MAX_UPLOAD_CHUNK_BYTES).arrayBuffer());
          onProgress((await request({ op: 'upload-chunk', uploadId, data })).received);
        }
        if (signal.aborted) throw cancelled(file.name);
        return await request({ op: 'upload-finish', uploadId });
      } catch (error) {
        await request({ op: 'upload-abort', uploadId }).catch(() => undefined);
        throw error;
      }
    },
  };
}

function asCode(code: string): ErrorCode {
  const parsed = ErrorCode.safeParse(code);
  return parsed.success ? parsed.data : 'internal';
}

/**
 * The two ways a panel takes one file (the page's file input, or the desktop's native dialog),
 * both handing `use` a function that yields the file's grant (undefined when nothing was chosen).
 */
export function singleFileChoice(files: FileAccess, use: (grant: () => Promise<FileGrant | undefined>) => void) {
  return {
    picked(event: Event): void {
      const input = event.currentTarget as HTMLInputElement;
      const file = input.files?.[0];
      input.value = '';
      if (file) use(() => files.upload(file, () => {}, new AbortController().signal));
    },
    fromDialog(): void {
      const open = files.openDialog;
      if (open) use(async () => (await open())[0]);
    },
  };
}
