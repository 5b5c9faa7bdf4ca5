import { fileURLToPath } from 'node:url';
import { LabError } from '../../api/errors.js';
import { closeLab, openLab } from '../../lab/open.js';
import { startServer } from '../../server/server.js';
import { resolveDatabasePath } from '../../store/location.js';
import { type Command, commonUsage, printJson, stringOption } from '../command.js';

/** The built renderer, relative to dist/main/cli/commands. */
export const rendererDir = fileURLToPath(new URL('../../../renderer', import.meta.url));

export interface ServeOutcome {
  url: string;
  stop: () => Promise<void>;
}

/** Starts the lab behind the loopback carrier; shared by `serve` and `start`'s browser mode. */
export async function serveLab(databasePath: string, port: number | undefined): Promise<ServeOutcome> {
  const service = await openLab({ databasePath, carrier: 'browser' });
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
  usage: `cellshift serve [--port N] [--db PATH] [--json]

Starts the lab on 127.0.0.1 and prints the URL to open (it contains this launch's token).
  --port N      port to listen on (default: a free one)
${commonUsage}`,
  options: { port: { type: 'string' } },
  async run(args) {
    const databasePath = resolveDatabasePath(stringOption(args, 'db'));
    const { url, stop } = await serveLab(databasePath, parsePort(stringOption(args, 'port')));
    if (args.values.json) printJson({ mode: 'browser', url, databasePath });
    else process.stdout.write(`CellShift is serving on ${url}\nDatabase: ${databasePath}\nPress Ctrl-C to stop.\n`);
    return stopOnSignal(stop);
  },
};
