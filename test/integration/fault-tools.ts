// Real file-system faults for the fault tests: small and read-only tmpfs mounts (which need
// CAP_SYS_ADMIN, i.e. root in CI), filling a disk, and running the `cellshift` CLI.
import { type ChildProcessWithoutNullStreams, execFile, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const mainScript = join(repoRoot, 'src-main/node/cli/main.ts');

export const isRoot = process.getuid?.() === 0;

/**
 * Mounts a tmpfs of `bytes` at `dir`. Returns null on success, else why it could not (for the
 * test's skip message): mounting needs root (CAP_SYS_ADMIN), as in CI.
 */
export function mountTmpfs(dir: string, bytes: number): string | null {
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0777`, 'tmpfs', dir], { encoding: 'utf8' });
  if (result.error) return `cannot run mount: ${result.error.message}`;
  if (result.status !== 0) return `mounting a tmpfs needs root (CAP_SYS_ADMIN): ${result.stderr.trim()}`;
  return null;
}

/** Remounts a tmpfs with new options (e.g. 'ro', 'rw', 'size=16m'); throws if that fails. */
export function remount(dir: string, options: string): void {
  const result = spawnSync('mount', ['-o', `remount,${options}`, dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mount -o remount,${options} ${dir} failed: ${result.stderr}`);
}

export function unmount(dir: string): void {
  spawnSync('umount', ['-l', dir], { encoding: 'utf8' });
}

/** Writes a file until the disk is full (ENOSPC); returns its path and how many bytes it took. */
export function fillDisk(dir: string, name = 'filler.bin'): { path: string; bytes: number } {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024, 7);
  let bytes = 0;
  try {
    for (;;) {
      try {
        bytes += writeSync(fd, block);
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOSPC') break;
        throw error;
      }
    }
    // The last pages of a tmpfs can take a few smaller writes.
    for (const size of [4096, 512, 1]) {
      for (;;) {
        try {
          bytes += writeSync(fd, block.subarray(0, size));
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return { path, bytes };
}

export function removeFile(path: string): void {
  rmSync(path, { force: true });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `cellshift <args>` (CELLSHIFT_DB unset) and waits for it. */
export function cellshift(args: string[], timeoutMs = 60_000): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1' };
  delete env.CELLSHIFT_DB;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', mainScript, ...args],
      { cwd: repoRoot, env, timeout: timeoutMs },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr, ms: performance.now() - started });
      },
    );
  });
}

export interface Spawned {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `cellshift <args>` and keeps it running; output is collected as it arrives. */
export function spawnCellshift(args: string[]): Spawned {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1' };
  delete env.CELLSHIFT_DB;
  return collectOutput(spawn(process.execPath, ['--import', 'tsx', mainScript, ...args], { cwd: repoRoot, env }));
}

/** Runs a TypeScript/ESM snippet in a child Node process (with tsx), arguments after it. */
export function spawnScript(script: string, args: string[] = []): Spawned {
  return collectOutput(spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], { cwd: repoRoot }));
}

/** Collects a child's stdout and stderr as they arrive and its exit, for tests that keep it running. */
export function collectOutput(child: ChildProcessWithoutNullStreams): Spawned {
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

export async function waitUntil<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** What a user should never see: a JavaScript stack or a bare SQLite code instead of a sentence. */
export function assertNoRawError(text: string): void {
  if (/\n\s+at .+:\d+:\d+/.test(text) || /SqliteError|unexpected error/.test(text)) {
    throw new Error(`raw error leaked to the user:\n${text}`);
  }
}
