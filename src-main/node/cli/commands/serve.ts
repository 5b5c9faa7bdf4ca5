import { fileURLToPath } from 'node:url';
import { LabError } from '../../../shared/api/errors.js';
import { closeLab, openLab } from '../../lab/open.js';
import { DemoKind } from '../../lab/service.js';
import { startServer } from '../../server/server.js';
import { InstanceLock } from '../../store/instance.js';
import { resolveDatabasePath } from '../../store/location.js';
import { type Command, commonUsage, type ParsedArgs, printJson, stringOption } from '../command.js';

/** The built renderer, relative to dist/main/node/cli/commands. */
export const rendererDir = fileURLToPath(new URL('../../../../renderer', import.meta.url));

export type ServeOutcome =
  | { kind: 'started'; url: string; stop: () => Promise<void> }
  /** Another process already serves this database: where, and who. */
  | { kind: 'running'; url: string; pid: number };

export interface FileAccessFlags {
  /** Folders the page may browse (`--allow-dir`, repeatable). */
  allowedDirs: string[];
  /** Largest upload in bytes (`--max-upload`). */
  maxUploadBytes?: number;
}

/** `--demo`: the dataset a new lab starts with. */
export function parseDemo(text: string | undefined): DemoKind | undefined {
  if (text === undefined) return undefined;
  if (!(DemoKind as readonly string[]).includes(text)) {
    throw new LabError('invalid_params', `--demo must be one of ${DemoKind.join(', ')}, got "${text}"`);
  }
  return text as DemoKind;
}

/** How long a second start waits for a first one, still starting, to say where it serves. */
const ANNOUNCEMENT_TIMEOUT_MS = 20_000;

/**
 * Starts the lab behind the loopback carrier; shared by `serve` and `start`'s browser mode.
 * One server per database: when another process serves it already, this opens nothing and
 * returns that lab's address instead.
 */
export async function serveLab(
  databasePath: string,
  port: number | undefined,
  files?: FileAccessFlags,
  demo?: DemoKind,
): Promise<ServeOutcome> {
  let lock: InstanceLock | null = null;
  if (databasePath !== ':memory:') {
    const deadline = Date.now() + ANNOUNCEMENT_TIMEOUT_MS;
    for (;;) {
      const attempt = InstanceLock.acquire(databasePath);
      if (attempt.kind === 'acquired') lock = attempt.lock;
      // 'unavailable' (e.g. a read-only folder): opening the database below says what is wrong.
      if (attempt.kind !== 'held') break;
      if (attempt.info?.url) return { kind: 'running', url: attempt.info.url, pid: attempt.info.pid };
      if (Date.now() > deadline) {
        throw new LabError(
          'conflict',
          `Another CellShift process${attempt.info ? ` (pid ${attempt.info.pid})` : ''} holds the database ${databasePath} ` +
            `but has not said where it serves after ${ANNOUNCEMENT_TIMEOUT_MS / 1000} s. Stop it, or use another database with --db PATH.`,
        );
      }
      // It is still starting (opening the database, seeding the demo): wait for its address.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    const service = await openLab({
      databasePath,
      carrier: 'browser',
      allowedDirs: files?.allowedDirs ?? [],
      uploads: files?.maxUploadBytes === undefined ? {} : { maxBytes: files.maxUploadBytes },
      ...(demo ? { demo } : {}),
    });
    try {
      const server = await startServer({ service, staticDir: rendererDir, ...(port === undefined ? {} : { port }) });
      lock?.publish(server.url);
      service.startBackgroundWork();
      return {
        kind: 'started',
        url: server.url,
        stop: async () => {
          try {
            await server.close();
            await closeLab(service);
          } finally {
            lock?.release();
          }
        },
      };
    } catch (error) {
      await closeLab(service);
      throw error;
    }
  } catch (error) {
    lock?.release();
    throw error;
  }
}

/** What a second start says: the lab is already open, here. */
export function announceRunning(outcome: { url: string; pid: number }, databasePath: string, json: boolean): void {
  if (json) printJson({ mode: 'already-running', url: outcome.url, pid: outcome.pid, databasePath });
  else
    process.stdout.write(
      `CellShift is already running on this database at ${outcome.url} (pid ${outcome.pid}).\n` +
        `Database: ${databasePath}\n` +
        'Open that address; to run a second lab, stop that one first or use another database with --db PATH.\n',
    );
}

export function parsePort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new LabError('invalid_params', `--port must be an integer 0..65535, got "${text}"`);
  }
  return port;
}

/** The options that decide which files the page may reach, shared by `serve` and `start`. */
export const fileAccessOptions = {
  'allow-dir': { type: 'string', multiple: true },
  'max-upload': { type: 'string' },
} as const;

export const fileAccessUsage = `  --allow-dir DIR  let the page browse and open files inside DIR (repeatable); no other
                   path on this computer can be opened from the page
  --max-upload N   largest file the page may upload into the lab, e.g. 500M, 20G (default 64G)`;

export function fileAccessFlags(args: ParsedArgs): FileAccessFlags {
  const dirs = args.values['allow-dir'];
  const allowedDirs = Array.isArray(dirs) ? dirs.filter((d): d is string => typeof d === 'string') : [];
  const size = stringOption(args, 'max-upload');
  return { allowedDirs, ...(size === undefined ? {} : { maxUploadBytes: parseSize(size, '--max-upload') }) };
}

/** "1048576", "500M", "20G" → bytes (binary units). */
export function parseSize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(match?.[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = match ? Math.floor(Number(match[1]) * unit) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0)
    throw new LabError('invalid_params', `${flag} must be a size like 500M or 20G, got "${text}"`);
  return bytes;
}

/** Keeps the process alive until Ctrl-C / SIGTERM, then shuts down cleanly. */
export function stopOnSignal(stop: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    const shutdown = () => {
      process.off('SIGINT', shutdown);
      process.off('SIGTERM', shutdown);
      void stop().then(() => resolve(0));
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  });
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve the lab UI on 127.0.0.1 for a browser (loopback only, per-launch token)',
  usage: `cellshift serve [--port N] [--allow-dir DIR]... [--max-upload N] [--db PATH] [--json]

Starts the lab on 127.0.0.1 and prints the URL to open (it contains this launch's token).
When another process already serves the database, prints that lab's URL and exits 0.
Files reach the lab by upload from the page, or from a folder allowed here.
  --port N      port to listen on (default: a free one)
  --demo KIND   the dataset a new database starts with: drug-panel (default; real drug
                structures, drawn with RDKit) or sparse (no structures, no RDKit needed)
${fileAccessUsage}
${commonUsage}`,
  options: { port: { type: 'string' }, demo: { type: 'string' }, ...fileAccessOptions },
  async run(args) {
    const databasePath = resolveDatabasePath(stringOption(args, 'db'));
    const demo = parseDemo(stringOption(args, 'demo'));
    const outcome = await serveLab(databasePath, parsePort(stringOption(args, 'port')), fileAccessFlags(args), demo);
    if (outcome.kind === 'running') {
      announceRunning(outcome, databasePath, args.values.json === true);
      return 0;
    }
    const { url, stop } = outcome;
    if (args.values.json) printJson({ mode: 'browser', url, databasePath });
    else process.stdout.write(`CellShift is serving on ${url}\nDatabase: ${databasePath}\nPress Ctrl-C to stop.\n`);
    return stopOnSignal(stop);
  },
};
