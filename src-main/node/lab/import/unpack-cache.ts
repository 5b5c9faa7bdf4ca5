// Gzip-compressed HDF5 files (GEO's `…_Level5_COMPZ.MODZ_n473647x12328.gctx.gz`, `.h5ad.gz`) are
// unpacked once into a cache next to the database: HDF5 needs random access, which a gzip stream
// cannot give. An entry is named by the compressed file's content (size and its first and last
// bytes), so importing the same download again, from anywhere, reuses it. It is written under a
// temporary name and renamed when complete: a killed or cancelled unpack never leaves an entry
// that looks whole.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open as openFile, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { LabError } from '../../../shared/api/errors.js';
import { FormatError } from '../../data/formats/index.js';
import type { JobContextLike } from '../../data/progress.js';

/** Bytes hashed at each end of the compressed file for its identity. */
const IDENTITY_BYTES = 1024 * 1024;
const PARTIAL_SUFFIX = '.partial';
/** Left free on the disk after an unpack, so the database itself can still grow. */
const HEADROOM_BYTES = 256 * 1024 * 1024;

export interface UnpackedFile {
  /** The decompressed copy. */
  path: string;
  /** True when an earlier unpack of the same content was reused. */
  reused: boolean;
}

export class UnpackCache {
  readonly root: string;
  /** Entries an import in this process is using (never pruned under it). */
  readonly #held = new Set<string>();
  readonly #freeBytes: (dir: string) => Promise<number | null>;

  /** `freeBytes` answers how much room the disk has (tests stand in for a full disk). */
  constructor(root: string, options: { freeBytes?: (dir: string) => Promise<number | null> } = {}) {
    this.root = root;
    this.#freeBytes = options.freeBytes ?? freeBytes;
  }

  /** The cache entry a gzip file unpacks to: its content identity plus the inner file's extension. */
  async entryPath(gzPath: string): Promise<string> {
    const handle = await openFile(gzPath, 'r');
    try {
      const { size } = await handle.stat();
      const hash = createHash('sha256').update(`${size}\n`);
      const head = Buffer.alloc(Math.min(IDENTITY_BYTES, size));
      await handle.read(head, 0, head.length, 0);
      hash.update(head);
      if (size > IDENTITY_BYTES) {
        const tail = Buffer.alloc(Math.min(IDENTITY_BYTES, size - IDENTITY_BYTES));
        await handle.read(tail, 0, tail.length, size - tail.length);
        hash.update(tail);
      }
      const inner = basename(gzPath).replace(/\.gz$/i, '');
      const ext = /\.(gctx|h5ad|h5|hdf5)$/i.exec(inner)?.[1]?.toLowerCase() ?? 'h5';
      return join(this.root, `${hash.digest('hex').slice(0, 32)}.${ext}`);
    } finally {
      await handle.close();
    }
  }

  /**
   * The decompressed copy of gzPath: reused when present, else unpacked with progress, stopped by
   * the signal, after checking the disk has room for it.
   */
  async unpack(gzPath: string, context?: JobContextLike): Promise<UnpackedFile> {
    const target = await this.entryPath(gzPath);
    this.#held.add(target);
    if (await isFile(target)) return { path: target, reused: true };
    await mkdir(this.root, { recursive: true });
    const compressed = (await stat(gzPath)).size;
    const needed = await estimateUnpackedSize(gzPath, compressed);
    const free = await this.#freeBytes(this.root);
    if (free !== null && free < needed + HEADROOM_BYTES) {
      throw new LabError(
        'bad_input',
        `Not enough free disk space to unpack ${basename(gzPath)}: it needs about ${gib(needed)} in ${this.root}, ` +
          `${gib(free)} are free. Free some space, or unpack the file yourself (gunzip) onto a larger disk and import that.`,
      );
    }
    const temporary = `${target}.${process.pid}-${randomBytes(4).toString('hex')}${PARTIAL_SUFFIX}`;
    const input = createReadStream(gzPath, { highWaterMark: 4 * 1024 * 1024 });
    let lastReport = 0;
    input.on('data', () => {
      const now = performance.now();
      if (now - lastReport < 250) return;
      lastReport = now;
      context?.progress(input.bytesRead / compressed, `Unpacking ${basename(gzPath)}: ${gib(input.bytesRead)} of ${gib(compressed)} read`);
    });
    try {
      await pipeline(input, createGunzip(), createWriteStream(temporary), context?.signal ? { signal: context.signal } : {});
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      this.#held.delete(target);
      if (context?.signal?.aborted) throw new LabError('cancelled', `Unpacking ${basename(gzPath)} was cancelled; nothing was kept.`);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC')
        throw new LabError('bad_input', `The disk filled up while unpacking ${basename(gzPath)} into ${this.root}; nothing was kept.`);
      if (typeof code === 'string' && code.startsWith('Z_')) {
        throw new FormatError(
          'truncated',
          gzPath,
          `the gzip data is incomplete or damaged (${(error as Error).message}); fetch the file again`,
        );
      }
      throw error;
    }
    context?.progress(1, `Unpacked ${basename(gzPath)}`);
    return { path: target, reused: false };
  }

  /** Stops protecting an entry from pruning (its import finished or failed). */
  release(path: string): void {
    this.#held.delete(path);
  }

  /**
   * Deletes entries no dataset refers to and no running import holds, and unpacks that were killed
   * (temporary files of processes no longer running).
   */
  async prune(inUse: ReadonlySet<string>): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const name of names) {
      const path = join(this.root, name);
      if (name.endsWith(PARTIAL_SUFFIX)) {
        const pid = Number(/\.(\d+)-[0-9a-f]+\.partial$/.exec(name)?.[1]);
        if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) continue;
        if (pid === process.pid) continue;
      } else if (inUse.has(path) || this.#held.has(path)) continue;
      await rm(path, { force: true });
      removed.push(path);
    }
    return removed;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function freeBytes(dir: string): Promise<number | null> {
  try {
    const info = await statfs(dir);
    return info.bavail * info.bsize;
  } catch {
    return null;
  }
}

/**
 * gzip's trailer holds the unpacked size modulo 4 GiB. HDF5 float matrices barely compress, so the
 * smallest size with that remainder that is at least the compressed size is the best estimate.
 */
async function estimateUnpackedSize(gzPath: string, compressed: number): Promise<number> {
  const handle = await openFile(gzPath, 'r');
  try {
    const trailer = Buffer.alloc(4);
    await handle.read(trailer, 0, 4, Math.max(0, compressed - 4));
    const modulo = trailer.readUInt32LE(0);
    const wrap = 2 ** 32;
    let estimate = modulo;
    // Below 2 GiB a small remainder is a small file (headers can make tiny files grow when gzipped).
    while (compressed >= 2 ** 31 && estimate < compressed) estimate += wrap;
    return estimate;
  } finally {
    await handle.close();
  }
}

function gib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
