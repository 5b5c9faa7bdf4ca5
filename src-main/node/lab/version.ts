// The app version, read once from the nearest package.json named cellshift above this file (so it
// holds from src-main, dist/main and a packed app, however deep the folder).
import { readFileSync } from 'node:fs';

function readVersion(): string {
  for (let up = new URL('.', import.meta.url), depth = 0; depth < 8; up = new URL('..', up), depth++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', up), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'cellshift' && pkg.version) return pkg.version;
    } catch {
      // no (readable) package.json here: look one folder up
    }
  }
  return '0.0.0-unknown';
}

export const appVersion = readVersion();
