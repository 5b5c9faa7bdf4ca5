import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findElectron } from '../../app/electron-binary.js';
import { FILE_ACCESS_ENV_VAR } from '../../app/electron-files.js';
import { NATIVE_BINDING_ENV_VAR, prepareElectronSqlite } from '../../app/electron-native.js';
import { DATABASE_ENV_VAR, resolveDatabasePath } from '../../store/location.js';
import { type Command, commonUsage, printJson, stringOption } from '../command.js';
import { announceRunning, fileAccessFlags, fileAccessOptions, fileAccessUsage, parsePort, serveLab, stopOnSignal } from './serve.js';

const electronMain = fileURLToPath(new URL('../../../electron/main.js', import.meta.url));
const nativeCache = fileURLToPath(new URL('../../../../../.cache/native', import.meta.url));

export const startCommand: Command = {
  name: 'start',
  summary: 'open the lab: the Electron window when Electron is installed, else the browser UI',
  usage: `cellshift start [--browser] [--no-open] [--port N] [--db PATH] [--json]

Opens the desktop window when the Electron binary is installed. Without it (offline
installs, CI), serves the same UI on 127.0.0.1, prints the URL and opens the default browser.
  --browser     use browser mode even when Electron is installed
  --no-open     do not open a browser (browser mode)
  --port N      port for browser mode (default: a free one)
${fileAccessUsage}
${commonUsage}`,
  options: {
    browser: { type: 'boolean', default: false },
    'no-open': { type: 'boolean', default: false },
    port: { type: 'string' },
    ...fileAccessOptions,
  },
  async run(args) {
    const databasePath = resolveDatabasePath(stringOption(args, 'db'));
    const files = fileAccessFlags(args);
    const electron = findElectron();
    const say = (line: string) => {
      if (!args.values.json) process.stdout.write(`${line}\n`);
    };
    if (!args.values.browser && electron.available && existsSync(electronMain)) {
      say(`Mode: desktop window (Electron ${electron.version}).`);
      const binding = prepareElectronSqlite(electron.version, nativeCache, say);
      const child = spawn(electron.binary, [electronMain], {
        stdio: 'inherit',
        env: {
          ...process.env,
          [DATABASE_ENV_VAR]: databasePath,
          [NATIVE_BINDING_ENV_VAR]: binding,
          [FILE_ACCESS_ENV_VAR]: JSON.stringify(files),
        },
      });
      return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
    }
    const why = args.values.browser
      ? '--browser was given'
      : electron.available
        ? `the Electron shell is not built (${electronMain} missing)`
        : `Electron is not available: ${electron.reason}`;
    const outcome = await serveLab(databasePath, parsePort(stringOption(args, 'port')), files);
    if (outcome.kind === 'running') {
      // The browser-mode twin of a second desktop launch focusing the first window.
      announceRunning(outcome, databasePath, args.values.json === true);
      if (!args.values['no-open'] && !process.env.CI) openInBrowser(outcome.url);
      return 0;
    }
    const { url, stop } = outcome;
    if (args.values.json) printJson({ mode: 'browser', reason: why, url, databasePath });
    say(`Mode: browser (${why}).`);
    say(`Open ${url}`);
    say(`Database: ${databasePath}`);
    say('Press Ctrl-C to stop.');
    if (!args.values['no-open'] && !process.env.CI) openInBrowser(url);
    return stopOnSignal(stop);
  },
};

/** Best effort: a headless machine has no browser, and that is fine, the URL is printed. */
function openInBrowser(url: string): void {
  const [command, ...args] =
    process.platform === 'darwin' ? ['open', url] : process.platform === 'win32' ? ['cmd', '/c', 'start', '""', url] : ['xdg-open', url];
  try {
    const child = spawn(command as string, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no opener on this machine
  }
}
