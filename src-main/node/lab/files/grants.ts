// The file-grant registry: the only way a LabApi caller names a file. Main registers a file when
// the user chose it — in a native dialog, by uploading it into the inbox, inside a folder allowed
// at launch, or on the command line — and hands out an opaque, unguessable grant id. Imports name
// grants; a path from the renderer is never opened.
import { randomBytes } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { LabError } from '../../../shared/api/errors.js';
import type { FileGrant, FileRole, FileSources, FolderListing } from '../../../shared/api/files.js';
import { type Classification, classifyFile } from './classify.js';
import { AllowedFolders, refused } from './folders.js';
import { Inbox, type InboxOptions, type UploadWriter } from './inbox.js';

export interface FileAccessOptions {
  /** Folders the user allowed at launch (`--allow-dir`); the renderer may browse inside them. */
  allowedDirs?: readonly string[];
  /** Where uploads land; omitted when this lab takes no uploads (the command line). */
  inbox?: InboxOptions;
}

export interface ResolvedFile {
  path: string;
  name: string;
  source: FileGrant['source'];
}

interface GrantRecord {
  info: FileGrant;
  path: string;
  /** Its real path when granted, checked again whenever the grant is used. */
  real: string;
}

/** Trusted because the user chose them outside the renderer: main's own dialog, or their shell. */
export type TrustedSource = 'dialog' | 'cli';

export class FileGrants {
  readonly folders: AllowedFolders;
  readonly inbox: Inbox | null;
  readonly #grants = new Map<string, GrantRecord>();
  readonly #uploads = new Map<string, UploadWriter>();

  constructor(folders: AllowedFolders = AllowedFolders.none(), inbox: Inbox | null = null) {
    this.folders = folders;
    this.inbox = inbox;
  }

  /** Checks the allowed folders and clears what dead processes left in the inbox. */
  static async open(options: FileAccessOptions): Promise<FileGrants> {
    const folders = await AllowedFolders.open(options.allowedDirs ?? []);
    const inbox = options.inbox ? new Inbox(options.inbox) : null;
    await inbox?.sweep();
    return new FileGrants(folders, inbox);
  }

  sources(): FileSources {
    return { folders: this.folders.list(), upload: this.inbox ? { maxBytes: this.inbox.maxBytes } : null };
  }

  /**
   * A file the user chose in main's open dialog or typed on the command line. With `role` (the
   * command line says what each file is) the file is not examined: that would load the HDF5
   * library before the import even begins.
   */
  async trust(path: string, source: TrustedSource, role?: FileRole): Promise<FileGrant> {
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      throw new LabError('not_found', `No such file: ${path}`, { reason: 'missing' });
    }
    if (!(await stat(real)).isFile()) throw new LabError('bad_input', `Not a file: ${path}`, { reason: 'not_a_file' });
    const given = role === undefined ? undefined : { format: null, suggestedRole: role, reason: 'named on the command line' };
    return this.#register(real, basename(path), source, given);
  }

  listFolder(folderId: string, path: string): Promise<FolderListing> {
    return this.folders.listing(folderId, path);
  }

  async grantInFolder(folderId: string, path: string): Promise<FileGrant> {
    const { real } = await this.folders.resolve(folderId, path, 'file');
    return this.#register(real, basename(real), 'folder');
  }

  /** A whole upload in one stream (the HTTP carrier). */
  async receiveUpload(name: string, size: number, body: AsyncIterable<Uint8Array>): Promise<FileGrant> {
    const file = await this.#inbox().receive(name, size, body);
    return this.#registerUpload(file.path, file.name);
  }

  /** An upload in chunks (the Electron carrier, for files dropped on the window). */
  async beginUpload(name: string, size: number): Promise<string> {
    const writer = await this.#inbox().begin(name, size);
    const uploadId = `upload_${randomBytes(12).toString('base64url')}`;
    this.#uploads.set(uploadId, writer);
    return uploadId;
  }

  async writeUpload(uploadId: string, chunk: Uint8Array): Promise<number> {
    const writer = this.#upload(uploadId);
    try {
      await writer.write(chunk);
    } catch (error) {
      this.#uploads.delete(uploadId);
      throw error;
    }
    return writer.receivedBytes;
  }

  async finishUpload(uploadId: string): Promise<FileGrant> {
    const writer = this.#upload(uploadId);
    this.#uploads.delete(uploadId);
    const file = await writer.finish();
    return this.#registerUpload(file.path, file.name);
  }

  async abortUpload(uploadId: string): Promise<boolean> {
    const writer = this.#uploads.get(uploadId);
    if (!writer) return false;
    this.#uploads.delete(uploadId);
    await writer.abort();
    return true;
  }

  /** The file behind a grant, checked again: still there, still the same real path (no link swapped in). */
  async resolve(grantId: string): Promise<ResolvedFile> {
    const record = this.#grants.get(grantId);
    if (!record) {
      throw new LabError(
        'not_found',
        `Unknown file grant ${grantId}: files are opened only after you choose them (grants end when the lab stops). Choose the file again.`,
        { reason: 'unknown_grant' },
      );
    }
    let real: string;
    try {
      real = await realpath(record.path);
    } catch {
      throw new LabError('not_found', `"${record.info.name}" is no longer there (${record.path}). Choose it again.`, { reason: 'missing' });
    }
    if (real !== record.real) {
      throw refused('symlink_escape', `"${record.info.name}" was replaced by a link since it was chosen; choose it again.`);
    }
    return { path: record.path, name: record.info.name, source: record.info.source };
  }

  info(grantId: string): FileGrant | null {
    return this.#grants.get(grantId)?.info ?? null;
  }

  /** Forgets a grant; an uploaded file is deleted with it. */
  async release(grantId: string): Promise<boolean> {
    const record = this.#grants.get(grantId);
    if (!record) return false;
    this.#grants.delete(grantId);
    if (record.info.source === 'upload') await this.inbox?.remove(record.path);
    return true;
  }

  /** Aborts running uploads, forgets every grant and removes this process's inbox folder. */
  async close(): Promise<void> {
    this.#uploads.clear();
    this.#grants.clear();
    await this.inbox?.close();
  }

  async #register(path: string, name: string, source: FileGrant['source'], known?: Classification): Promise<FileGrant> {
    const grantId = `grant_${randomBytes(18).toString('base64url')}`;
    const [real, { size }, classification] = await Promise.all([realpath(path), stat(path), known ?? classifyFile(path, name)]);
    const info: FileGrant = { grantId, name, size, source, ...classification };
    this.#grants.set(grantId, { info, path, real });
    return info;
  }

  async #registerUpload(path: string, name: string): Promise<FileGrant> {
    try {
      return await this.#register(path, name, 'upload');
    } catch (error) {
      await this.inbox?.remove(path);
      throw error;
    }
  }

  #inbox(): Inbox {
    if (!this.inbox) {
      throw new LabError('unauthorized', 'This lab takes no uploads; choose files in a dialog or an allowed folder.', {
        reason: 'no_uploads',
      });
    }
    return this.inbox;
  }

  #upload(uploadId: string): UploadWriter {
    const writer = this.#uploads.get(uploadId);
    if (!writer) throw new LabError('not_found', `No upload ${uploadId} in progress (it ended, failed or was cancelled).`);
    return writer;
  }
}
