import { fileURLToPath } from 'node:url';
import { LabError } from '../../api/errors.js';
import { closeLab, openLab } from '../../lab/open.js';
import { startServer } from '../../server/server.js';
import { resolveDatabasePath } from '../../store/location.js';
import { type Command, commonUsage, type ParsedArgs, printJson, stringOption } from '../command.js';

/** The built renderer, relative to dist/main/cli/commands. */
export const rendererDir = fileURLToPath(new URL('../../../renderer', import.meta.url));

export interface ServeOutcome {
  url: string;
  stop: () => Promise<void>;
}

export interface FileAccessFlags {
  /** Folders the page may browse (`--allow-dir`, repeatable). */
  allowedDirs: string[];
  /** Largest upload in bytes (`--max-upload`). */
  maxUploadBytes?: number;
}

/** Starts the lab behind the loopback carrier; shared by `serve` and `start`'s browser mode. */
export async function serveLab(databasePath: string, port: number | undefined, files?: FileAccessFlags): Promise<ServeOutcome> {
  const service = await openLab({
    databasePath,
    carrier: 'browser',
    allowedDirs: files?.allowedDirs ?? [],
    uploads: files?.maxUploadBytes === undefined ? {} : { maxBytes: files.maxUploadBytes },
  });
  try {
    const server = await startServer({ service, staticDir: rendererDir, ...(port === undefined ? {} : { port }) });
    return {
      url: server.url,
      stop: async () => {
        await server.close();
        await closeLab(service);
      },
    };
  } catch (error) {
    await closeLab(service);
    throw error;
  }
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
Files reach the lab by upload from the page, or from a folder allowed here.
  --port N      port to listen on (default: a free one)
${fileAccessUsage}
${commonUsage}`,
  options: { port: { type: 'string' }, ...fileAccessOptions },
  async run(args) {
    const databasePath = resolveDatabasePath(stringOption(args, 'db'));
    const { url, stop } = await serveLab(databasePath, parsePort(stringOption(args, 'port')), fileAccessFlags(args));
    if (args.values.json) printJson({ mode: 'browser', url, databasePath });
    else process.stdout.write(`CellShift is serving on ${url}\nDatabase: ${databasePath}\nPress Ctrl-C to stop.\n`);
    return stopOnSignal(stop);
  },
};
