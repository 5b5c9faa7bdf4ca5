// Where the lab database lives: --db flag, then CELLSHIFT_DB, then the per-user app-data folder.
import { join, resolve } from 'node:path';
import envPaths from 'env-paths';

export const DATABASE_ENV_VAR = 'CELLSHIFT_DB';

export function defaultDatabasePath(): string {
  return join(envPaths('CellShift', { suffix: '' }).data, 'cellshift.db');
}

export function resolveDatabasePath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = flag ?? env[DATABASE_ENV_VAR];
  if (chosen === ':memory:') return chosen;
  return chosen && chosen.length > 0 ? resolve(chosen) : defaultDatabasePath();
}
