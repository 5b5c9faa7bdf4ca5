// The `cellshift` command line as a user runs it: a child process on a temporary database.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BACKEND_ORDER } from '../../src-main/node/ml/backend.js';
import { DatasetSummary, SyntheticPreset } from '../../src-main/shared/api/domain.js';
import { CMAPPY_DIR, sharedSkip } from '../fixtures/shared.js';
import { collectOutput, type Spawned } from './fault-tools.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const mainScript = join(repoRoot, 'src-main/node/cli/main.ts');

let dir = '';
let counter = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cellshift-cli-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function freshDb(label = 'lab'): string {
  counter++;
  return join(dir, `${label}-${counter}.db`);
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cellshift <args>` with CELLSHIFT_DB set (unless null) and waits for it to exit. */
function cellshift(args: string[], databasePath: string | null, timeout = 60_000): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1' };
  delete env.CELLSHIFT_DB;
  if (databasePath !== null) env.CELLSHIFT_DB = databasePath;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', mainScript, ...args], { cwd: repoRoot, env, timeout }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

function parseDatasets(stdout: string): DatasetSummary[] {
  const parsed = JSON.parse(stdout) as unknown;
  assert.ok(Array.isArray(parsed), `a JSON array, got ${stdout.slice(0, 200)}`);
  return parsed.map((d) => DatasetSummary.parse(d));
}

describe('cellshift --help', { concurrency: true }, () => {
  test('lists the commands and exits 0', async () => {
    const result = await cellshift(['--help'], freshDb());
    assert.equal(result.code, 0, result.stderr);
    for (const verb of ['start', 'serve', 'import', 'datasets']) {
      assert.match(result.stdout, new RegExp(`^\\s+${verb}\\s+\\S`, 'm'), `--help lists ${verb}`);
    }
    assert.match(result.stdout, /Usage: cellshift <command>/);
  });

  test('a command help shows its options; the import help lists every preset', async () => {
    const result = await cellshift(['import', '--help'], freshDb());
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /--synthetic PRESET/);
    for (const preset of SyntheticPreset.options) assert.ok(result.stdout.includes(preset), `import --help mentions ${preset}`);
  });

  test('an unknown command exits 2 with the overview on stderr', async () => {
    const result = await cellshift(['frobnicate'], freshDb());
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Unknown command "frobnicate"/);
    assert.match(result.stderr, /datasets/);
    assert.equal(result.stdout, '');
  });

  test('an unknown option exits 2 and points to the command help', async () => {
    const result = await cellshift(['datasets', '--colour'], freshDb());
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--colour/);
    assert.match(result.stderr, /cellshift datasets --help/);
  });
});

describe('cellshift split', () => {
  test("prints a split's totals, and every environment's place as JSON lines and CSV", async () => {
    const db = freshDb();
    const imported = await cellshift(['import', '--synthetic', 'demo', '--json'], db);
    assert.equal(imported.code, 0, imported.stderr);
    const dataset = DatasetSummary.parse(JSON.parse(imported.stdout));
    const csv = join(dir, 'split.csv');
    const json = await cellshift(
      ['split', '--dataset', dataset.id, '--kind', 'held-out-drugs', '--fraction', '0.5', '--csv', csv, '--json'],
      db,
    );
    assert.equal(json.code, 0, json.stderr);
    const [totals, ...places] = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.equal(totals.datasetId, dataset.id);
    assert.deepEqual(totals.split, { kind: 'held-out-drugs', fraction: 0.5, seed: 0 });
    assert.equal(totals.trainSamples + totals.heldOutSamples, dataset.nSamples);
    assert.equal(places.length, dataset.nEnvironments, 'one line per environment');
    const held = places.filter((p) => p.place === 'held out');
    assert.ok(held.length > 0 && held.length < places.length);
    assert.ok(totals.heldOutGroups.length > 0, 'whole drugs held out');
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    assert.equal(rows[0], 'environment_id,environment,place');
    assert.deepEqual(
      rows.slice(1).map((r) => r.split(',')),
      places.map((p) => [p.environmentId, p.key, p.place]),
    );
    const human = await cellshift(['split', '--dataset', dataset.id, '--kind', 'held-out-drugs', '--fraction', '0.5'], db);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`hold out ${totals.heldOutSamples}\\b`));
    assert.match(human.stdout, new RegExp(`${held.length} held out, 0 partly`));
    const bad = await cellshift(['split', '--dataset', dataset.id, '--kind', 'colour'], db);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Not a split: .*kinds: random-environments/);
  });
});

describe('cellshift import / datasets', { concurrency: true }, () => {
  test('import --synthetic linear-independent-2 --json, then datasets --json lists it', async () => {
    const db = freshDb();
    const empty = await cellshift(['datasets', '--json'], db);
    assert.equal(empty.code, 0, empty.stderr);
    assert.deepEqual(parseDatasets(empty.stdout), []);

    const imported = await cellshift(['import', '--synthetic', 'linear-independent-2', '--json'], db);
    assert.equal(imported.code, 0, imported.stderr);
    const summary = DatasetSummary.parse(JSON.parse(imported.stdout));
    assert.equal(summary.nSamples, 1000);
    assert.equal(summary.nGenes, 10);
    assert.equal(summary.nEnvironments, 1);
    assert.equal(summary.source, 'synthetic');
    assert.match(summary.name, /seed 0/);

    const listed = await cellshift(['datasets', '--json'], db);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(parseDatasets(listed.stdout), [summary]);

    const human = await cellshift(['datasets'], db);
    assert.equal(human.code, 0);
    assert.ok(human.stdout.includes(summary.id));
    assert.match(human.stdout, /1000 samples × 10 genes/);
  });

  test('the same preset and seed give the same content; another seed gives other content', async () => {
    const db = freshDb();
    const first = DatasetSummary.parse(
      JSON.parse((await cellshift(['import', '--synthetic', 'linear-independent-2', '--json'], db)).stdout),
    );
    const again = DatasetSummary.parse(
      JSON.parse(
        (await cellshift(['import', '--synthetic', 'linear-independent-2', '--seed', '0', '--name', 'Again', '--json'], db)).stdout,
      ),
    );
    const other = DatasetSummary.parse(
      JSON.parse((await cellshift(['import', '--synthetic', 'linear-independent-2', '--seed', '7', '--json'], db)).stdout),
    );
    assert.equal(again.name, 'Again');
    assert.notEqual(again.id, first.id);
    assert.equal(again.contentHash, first.contentHash);
    assert.notEqual(other.contentHash, first.contentHash);
    assert.match(other.name, /seed 7/);
  });

  test('an unknown preset exits 2 listing the presets, and writes nothing', async () => {
    const db = freshDb();
    const result = await cellshift(['import', '--synthetic', 'bogus'], db);
    assert.equal(result.code, 2);
    for (const preset of SyntheticPreset.options) assert.ok(result.stderr.includes(preset), `stderr lists ${preset}: ${result.stderr}`);
    assert.equal(result.stdout, '');
    const listed = await cellshift(['datasets', '--json'], db);
    assert.deepEqual(parseDatasets(listed.stdout), []);
  });

  test('a missing preset or a bad seed exits 2', async () => {
    const db = freshDb();
    const noPreset = await cellshift(['import'], db);
    assert.equal(noPreset.code, 2);
    assert.match(noPreset.stderr, /--synthetic/);
    for (const seed of ['-1', '2147483648']) {
      const result = await cellshift(['import', '--synthetic', 'linear-independent-2', '--seed', seed], db);
      assert.equal(result.code, 2, `--seed ${seed}`);
      assert.match(result.stderr, /--seed/);
    }
  });

  test('import FILE: paths typed on the command line are trusted and import', { skip: sharedSkip(CMAPPY_DIR) }, async () => {
    const db = freshDb('import-file');
    const fixtures = join(repoRoot, 'test', 'fixtures');
    const tables = (name: string) => join(fixtures, 'cmapPy-tables', name);
    const result = await cellshift(
      [
        'import',
        join(CMAPPY_DIR, 'mini_gctoo_for_testing.gctx'),
        '--sig-info',
        tables('sig_info.txt'),
        '--pert-info',
        tables('pert_info.txt'),
        '--gene-info',
        tables('gene_info.txt'),
        '--json',
      ],
      db,
      // RDKit and the HDF5 library load first: slow on a busy machine.
      120_000,
    );
    assert.equal(result.code, 0, result.stderr);
    const summary = DatasetSummary.parse(JSON.parse(result.stdout.trim().split('\n').pop() as string));
    assert.deepEqual([summary.nSamples, summary.nGenes, summary.nEnvironments], [4, 4, 3]);
    assert.match(summary.description, /Imported from .*mini_gctoo_for_testing\.gctx: 4 of 6 samples/);
    const missing = await cellshift(['import', join(dir, 'nope.gctx')], db);
    assert.equal(missing.code === 0, false);
    assert.match(missing.stderr, /No such file: .*nope\.gctx/);
  });

  test('--db overrides CELLSHIFT_DB', async () => {
    const envDb = freshDb('env');
    const flagDb = freshDb('flag');
    const imported = await cellshift(['import', '--synthetic', 'linear-independent-2', '--db', flagDb, '--json'], envDb);
    assert.equal(imported.code, 0, imported.stderr);
    const summary = DatasetSummary.parse(JSON.parse(imported.stdout));
    assert.ok(existsSync(flagDb), 'the --db file was created');

    const viaFlag = await cellshift(['datasets', '--json', '--db', flagDb], envDb);
    assert.deepEqual(
      parseDatasets(viaFlag.stdout).map((d) => d.id),
      [summary.id],
    );
    // The environment's database did not receive the import.
    const viaEnv = await cellshift(['datasets', '--json'], envDb);
    assert.deepEqual(parseDatasets(viaEnv.stdout), []);
    // And CELLSHIFT_DB alone does point at the other file.
    const envOnly = await cellshift(['datasets', '--json'], flagDb);
    assert.deepEqual(
      parseDatasets(envOnly.stdout).map((d) => d.id),
      [summary.id],
    );
  });
});

// ---------------------------------------------------------------------------------------------
// serve

type Served = Spawned;

function startServe(databasePath: string, extraArgs: string[] = []): Served {
  const env: NodeJS.ProcessEnv = { ...process.env, CELLSHIFT_DB: databasePath, CI: '1' };
  const child = spawn(process.execPath, ['--import', 'tsx', mainScript, 'serve', '--json', '--port', '0', ...extraArgs], {
    cwd: repoRoot,
    env,
  });
  return collectOutput(child);
}

// A first start seeds the drug-panel demo (RDKit loads, 24 structures are described) before serve announces itself.
async function waitFor<T>(what: string, probe: () => T | undefined, served: Served, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (served.child.exitCode !== null) assert.fail(`serve exited (${served.child.exitCode}) before ${what}: ${served.stderr()}`);
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; stdout: ${served.stdout()} stderr: ${served.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The first complete JSON value on stdout, however it is laid out. */
function firstJson(text: string): { mode: string; url: string; databasePath: string } | undefined {
  try {
    return JSON.parse(text) as { mode: string; url: string; databasePath: string };
  } catch {
    return undefined;
  }
}

describe('cellshift serve', { concurrency: true }, () => {
  const children: Served[] = [];
  after(() => {
    for (const served of children) if (served.child.exitCode === null && served.child.signalCode === null) served.child.kill('SIGKILL');
  });

  test('serve --json --port 0 prints the url with the token, answers app.info, and exits 0 on SIGTERM', async () => {
    const db = freshDb('serve');
    const served = startServe(db);
    children.push(served);
    const info = await waitFor('the JSON announcement', () => firstJson(served.stdout()), served);
    assert.equal(info.mode, 'browser');
    assert.equal(info.databasePath, db);
    const url = new URL(info.url);
    assert.equal(url.hostname, '127.0.0.1');
    assert.ok(info.url.includes('token='), info.url);
    const token = url.searchParams.get('token');
    assert.ok(token && token.length >= 16, 'a real token');

    const call = (authorization: string | null) =>
      fetch(`${url.origin}/api/call`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ id: 1, method: 'app.info' }),
      });
    assert.equal((await call(null)).status, 401);
    const response = await call(`Bearer ${token}`);
    assert.equal(response.status, 200);
    const envelope = (await response.json()) as { id: number; ok: boolean; result: { carrier: string; databasePath: string } };
    assert.equal(envelope.ok, true);
    assert.equal(envelope.id, 1);
    assert.equal(envelope.result.carrier, 'browser');
    assert.equal(envelope.result.databasePath, db);

    // First start seeds the demo dataset.
    const list = await fetch(`${url.origin}/api/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ id: 2, method: 'datasets.list' }),
    });
    assert.equal(((await list.json()) as { result: unknown[] }).result.length, 1);

    served.child.kill('SIGTERM');
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5_000).unref());
    const exit = await Promise.race([served.exited, timeout]);
    assert.notEqual(exit, 'timeout', 'serve exits within 5 s of SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, served.stderr());
    // The port is closed afterwards.
    await assert.rejects(fetch(`${url.origin}/`));
  });

  test('serve --json prints its announcement as one JSON line', async () => {
    const served = startServe(freshDb('serve-line'));
    children.push(served);
    try {
      const firstLine = await waitFor(
        'a first line',
        () => {
          const text = served.stdout();
          return text.includes('\n') ? text.slice(0, text.indexOf('\n')) : undefined;
        },
        served,
      );
      const parsed = JSON.parse(firstLine) as { url: string };
      assert.match(parsed.url, /token=/);
    } finally {
      served.child.kill('SIGTERM');
      await served.exited;
    }
  });

  test('serve refuses an --allow-dir that is not a folder and a bad --max-upload, before opening anything', async () => {
    const db = freshDb();
    const missing = await cellshift(['serve', '--allow-dir', join(dir, 'no-such-folder')], db);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--allow-dir .*no-such-folder: no such folder/);
    const size = await cellshift(['serve', '--max-upload', 'lots'], db);
    assert.equal(size.code, 2);
    assert.match(size.stderr, /--max-upload must be a size like 500M or 20G, got "lots"/);
    assert.equal(existsSync(db), false, 'no database was created');
  });

  test('serve --port with a bad value exits 2 with a one-line message', async () => {
    const result = await cellshift(['serve', '--port', 'abc'], freshDb());
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--port/);
    assert.doesNotMatch(result.stderr, /unexpected error|\n\s+at /);
  });
});

describe('cellshift train', () => {
  test('every model family trains from the command line on the demo data and lands in the run history', async () => {
    const db = freshDb('train');
    const families = ['vae', 'cvae', 'env-vae', 'translation-vae', 'adversarial-prior-ae'];
    for (const family of families) {
      const result = await cellshift(
        ['train', '--dataset', 'synthetic', '--model', family, '--epochs', '2', '--hidden', '16', '--latent', '4', '--json'],
        db,
      );
      assert.equal(result.code, 0, `${family}: ${result.stderr}`);
      const lines = result.stdout
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as {
              type: string;
              epoch?: number;
              run?: { status: string; model: string; epochsDone: number; backend: string | null };
            },
        );
      assert.deepEqual(
        lines.filter((l) => l.type === 'run.epoch').map((l) => l.epoch),
        [1, 2],
        `${family}: one epoch event per epoch`,
      );
      const final = lines.at(-1);
      assert.equal(final?.type, 'run.final');
      assert.equal(final?.run?.status, 'completed');
      assert.equal(final?.run?.model, family);
      assert.equal(final?.run?.epochsDone, 2);
      assert.ok((BACKEND_ORDER as readonly string[]).includes(final?.run?.backend ?? ''), `backend ${final?.run?.backend}`);
    }
    const listed = await cellshift(['datasets', '--json'], db);
    assert.equal(parseDatasets(listed.stdout).length, families.length, 'each "--dataset synthetic" generated one dataset');
  });

  test('an invalid configuration exits 2 naming the field, before generating any data', async () => {
    const db = freshDb('train-bad');
    const result = await cellshift(['train', '--dataset', 'synthetic', '--model', 'env-vae', '--latent', '0'], db);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /model\.latentDim/);
    const listed = await cellshift(['datasets', '--json'], db);
    assert.deepEqual(parseDatasets(listed.stdout), []);
  });

  test('an unknown dataset or model family is refused with a specific message', async () => {
    const db = freshDb('train-unknown');
    const missing = await cellshift(['train', '--dataset', 'ds_nope', '--model', 'vae'], db);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No dataset with id "ds_nope"/);
    const family = await cellshift(['train', '--dataset', 'synthetic', '--model', 'gan'], db);
    assert.equal(family.code, 2);
    assert.match(family.stderr, /model\.family/);
  });
});
