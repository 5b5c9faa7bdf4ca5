// The inbox: files the user uploads (picked or dropped in the page) land here, streamed to disk a
// chunk at a time — GCTX files can be gigabytes. Each lab process writes into a folder of its own,
// removed when it stops; folders of processes that died are removed by the next one to start.
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rm, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { LabError } from '../../../shared/api/errors.js';
import { processIsAlive } from '../../store/runs.js';

/** Default largest upload: a full GSE92742 Level 5 GCTX is ~25 GB. */
export const DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 ** 3;
/** Room left on the disk after an upload, so the database and the system keep working. */
export const DISK_RESERVE_BYTES = 256 * 1024 ** 2;

export interface InboxOptions {
  /** The folder holding every process's inbox (by default <app-data>/inbox). */
  root: string;
  maxBytes?: number;
  reserveBytes?: number;
  /** Free bytes on the inbox's disk; replaceable so tests can pretend the disk is full. */
  freeBytes?: (dir: string) => Promise<number>;
}

export interface UploadedFile {
  path: string;
  name: string;
  size: number;
}

/** One upload in progress: chunks are written in order; finish() checks the size, abort() deletes. */
export interface UploadWriter {
  readonly name: string;
  readonly expectedBytes: number;
  readonly receivedBytes: number;
  write(chunk: Uint8Array): Promise<void>;
  finish(): Promise<UploadedFile>;
  abort(): Promise<void>;
}

export class Inbox {
  readonly root: string;
  readonly maxBytes: number;
  readonly #reserve: number;
  readonly #freeBytes: (dir: string) => Promise<number>;
  readonly #session: string;
  readonly #open = new Set<UploadWriter>();
  #ready: Promise<void> | null = null;

  constructor(options: InboxOptions) {
    this.root = options.root;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
    this.#reserve = options.reserveBytes ?? DISK_RESERVE_BYTES;
    this.#freeBytes = options.freeBytes ?? diskFreeBytes;
    this.#session = join(this.root, `${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** This process's folder (created on first use). */
  get sessionDir(): string {
    return this.#session;
  }

  /**
   * Removes what earlier processes left: folders of processes no longer alive, and anything that
   * is not a process folder. Returns how many entries were removed.
   */
  async sweep(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return 0; // no inbox yet
    }
    let removed = 0;
    for (const name of names) {
      const owner = /^(\d+)-[0-9a-f]+$/.exec(name);
      const pid = owner ? Number(owner[1]) : null;
      // Our own folder, another lab in this process (tests), or a live process's: not ours to clear.
      if (pid === process.pid || (pid !== null && processIsAlive(pid))) continue;
      await rm(join(this.root, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /** Starts an upload after checking the size limit and the free disk space. */
  async begin(name: string, size: number): Promise<UploadWriter> {
    const safeName = sanitizeFileName(name);
    if (!Number.isSafeInteger(size) || size < 0) throw new LabError('invalid_params', `Upload size must be a byte count, got ${size}`);
    if (size > this.maxBytes) {
      throw new LabError(
        'bad_input',
        `"${safeName}" is ${formatBytes(size)}, more than the upload limit of ${formatBytes(this.maxBytes)}. Start the lab with --max-upload, or put the file in a folder allowed with --allow-dir and pick it there (no copy is made).`,
        { reason: 'too_large', limit: this.maxBytes },
      );
    }
    this.#ready ??= mkdir(this.#session, { recursive: true, mode: 0o700 }).then(() => undefined);
    await this.#ready;
    const free = await this.#freeBytes(this.#session);
    if (size + this.#reserve > free) {
      throw new LabError(
        'no_space',
        `Not enough disk space for "${safeName}" (${formatBytes(size)}): ${formatBytes(free)} free where the lab keeps uploads (${this.root}). Free some space, or allow the file's folder with --allow-dir so it is read where it is.`,
        { reason: 'disk_full', free, needed: size + this.#reserve },
      );
    }
    // Each upload gets a folder of its own, so the file keeps its name (the dataset's default name).
    const dir = join(this.#session, randomBytes(8).toString('hex'));
    await mkdir(dir, { mode: 0o700 });
    const writer = new FileUpload(join(dir, safeName), dir, safeName, size, () => this.#open.delete(writer));
    this.#open.add(writer);
    return writer;
  }

  /** Streams a whole body (the HTTP carrier's request) into a new upload. */
  async receive(name: string, size: number, body: AsyncIterable<Uint8Array>): Promise<UploadedFile> {
    const writer = await this.begin(name, size);
    try {
      for await (const chunk of body) await writer.write(chunk);
    } catch (error) {
      await writer.abort();
      throw error;
    }
    return writer.finish();
  }

  /** Deletes one uploaded file (and its folder); only files of this process's inbox are touched. */
  async remove(path: string): Promise<void> {
    const dir = dirname(path);
    if (dirname(dir) !== this.#session) return;
    await rm(dir, { recursive: true, force: true });
  }

  /** Aborts uploads still running and removes this process's folder. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#open].map((w) => w.abort()));
    await rm(this.#session, { recursive: true, force: true });
  }
}

class FileUpload implements UploadWriter {
  readonly name: string;
  readonly expectedBytes: number;
  receivedBytes = 0;
  readonly #path: string;
  readonly #dir: string;
  readonly #stream: WriteStream;
  readonly #done: () => void;
  #failure: Error | null = null;
  #settled = false;

  constructor(path: string, dir: string, name: string, expectedBytes: number, done: () => void) {
    this.#path = path;
    this.#dir = dir;
    this.name = name;
    this.expectedBytes = expectedBytes;
    this.#done = done;
    this.#stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    this.#stream.on('error', (error) => {
      this.#failure ??= diskError(error, name);
    });
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#settled) throw new LabError('conflict', `The upload of "${this.name}" has already ended.`);
    if (this.#failure) throw this.#failure;
    if (this.receivedBytes + chunk.byteLength > this.expectedBytes) {
      await this.abort();
      throw new LabError('bad_input', `"${this.name}" is longer than the ${this.expectedBytes} bytes announced; the upload was discarded.`);
    }
    this.receivedBytes += chunk.byteLength;
    // Wait for the disk whenever the stream's buffer is full: memory stays at one buffer.
    if (!this.#stream.write(chunk)) await this.#drained();
    if (this.#failure) {
      const failure = this.#failure;
      await this.abort();
      throw failure;
    }
  }

  async finish(): Promise<UploadedFile> {
    if (this.receivedBytes !== this.expectedBytes) {
      await this.abort();
      throw new LabError(
        'bad_input',
        `The upload of "${this.name}" ended after ${this.receivedBytes} of ${this.expectedBytes} bytes; it was discarded.`,
      );
    }
    this.#stream.end();
    try {
      await finished(this.#stream);
    } catch (error) {
      this.#failure ??= diskError(error as NodeJS.ErrnoException, this.name);
    }
    if (this.#failure) {
      const failure = this.#failure;
      await this.abort();
      throw failure;
    }
    this.#settled = true;
    this.#done();
    return { path: this.#path, name: this.name, size: this.receivedBytes };
  }

  async abort(): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    this.#stream.destroy();
    await new Promise<void>((resolve) => (this.#stream.closed ? resolve() : this.#stream.once('close', () => resolve())));
    await rm(this.#dir, { recursive: true, force: true });
    this.#done();
  }

  #drained(): Promise<void> {
    return new Promise((resolve) => {
      const settle = () => {
        this.#stream.off('drain', settle);
        this.#stream.off('error', settle);
        this.#stream.off('close', settle);
        resolve();
      };
      this.#stream.once('drain', settle);
      this.#stream.once('error', settle);
      this.#stream.once('close', settle);
    });
  }
}

function diskError(error: NodeJS.ErrnoException, name: string): LabError {
  if (error.code === 'ENOSPC' || error.code === 'EDQUOT') {
    return new LabError(
      'no_space',
      `The disk filled up while receiving "${name}"; the partial file was removed. Free some space and try again.`,
      {
        reason: 'disk_full',
      },
    );
  }
  return new LabError('internal', `Could not store the upload of "${name}": ${error.message}`);
}

async function diskFreeBytes(dir: string): Promise<number> {
  const info = await statfs(dir);
  return Number(info.bavail) * Number(info.bsize);
}

/** The last path component, without control characters or anything a file system objects to. */
export function sanitizeFileName(name: string): string {
  const last = name.split(/[\\/]/).pop() ?? '';
  const cleaned = [...last]
    .map((c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f || '<>:"|?*'.includes(c) ? '_' : c))
    .join('')
    .replace(/^[.\s]+/, '')
    .trim()
    .slice(0, 200);
  return cleaned.length > 0 ? cleaned : 'upload';
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
