// What the Environments view (and the pickers that listed every environment) costs at full size
// (issue 13): the whole list (environments.list, the reference: what the views fetched before)
// against what they ask now: a first page, a search, a sort, a sort by split, the pickers' facets,
// and the CSV export's walk through every page. Each request is served as the HTTP carrier serves
// it (parsed, dispatched, the answer's bytes), alternating with the reference in every round.
//   node --import tsx bench/environments.ts --lab DIR [--rounds 2] [--search CL1] [--no-export]
// DIR/lab.db is opened as it is (use a copy: cp -a /tmp/latents-again-lab /tmp/env-lab); its
// dataset with the most environments is read. The split previews are computed cold in each round
// (its seed is the round's), as a view's first page under a split it has not previewed is; the
// split picker's own preview (splits.preview) is timed first, cold and again, with its bytes.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createJsonDispatcher, joinParts } from '../src-main/node/lab/dispatch.js';
import { PARAMS_CHECKED_IN_WORKER } from '../src-main/node/lab/handlers.js';
import { closeLab, openLab } from '../src-main/node/lab/open.js';
import { flagOptions, usageError } from './options.js';
import { median, uptime } from './stats.js';

const { args, value, int } = flagOptions('environments');
const labDir = value('--lab');
if (labDir === undefined) usageError('environments', '--lab DIR is required (a lab whose DIR/lab.db holds a dataset)');
const databasePath = join(labDir, 'lab.db');
if (!existsSync(databasePath)) usageError('environments', `--lab ${labDir}: there is no lab.db in it`);
const rounds = int('--rounds', 2);
const search = value('--search') ?? 'CL1';
const exportAll = !args.includes('--no-export');

console.log(`uptime at start: ${uptime()}`);
const lab = await openLab({ databasePath, carrier: 'browser', seedDemo: false });
try {
  const datasets = lab.store.datasets.list();
  const dataset = [...datasets].sort((a, b) => b.nEnvironments - a.nEnvironments)[0];
  if (!dataset) usageError('environments', `--lab ${labDir}: its lab has no dataset`);
  const datasetId = dataset.id;
  console.log(
    `dataset "${dataset.name}": ${dataset.nSamples.toLocaleString()} samples, ${dataset.nEnvironments.toLocaleString()} environments`,
  );

  const handlers = lab.handlers();
  const methodNames = Object.keys(handlers);
  const dispatch = createJsonDispatcher(handlers, console.error, PARAMS_CHECKED_IN_WORKER);
  let nextId = 1;
  /** One request as the HTTP carrier serves it: its wall time and the answer's bytes. */
  async function served(method: string, params: unknown): Promise<{ ms: number; bytes: number; result: unknown }> {
    const body = JSON.stringify({ id: nextId++, method, params });
    const t0 = performance.now();
    const bytes = joinParts(await dispatch(JSON.parse(body)));
    const ms = performance.now() - t0;
    const answer = JSON.parse(new TextDecoder().decode(bytes)) as { ok: boolean; result: unknown; error?: unknown };
    if (!answer.ok) throw new Error(`${method}: ${JSON.stringify(answer.error)}`);
    return { ms, bytes: bytes.byteLength, result: answer.result };
  }

  const page = (extra: Record<string, unknown>) => ({ datasetId, offset: 0, limit: 200, ...extra });
  // The split picker's preview: of a split not asked for before (round 1: the first of the
  // dataset since the lab opened; later rounds: another seed of it), then the same split again.
  const previewed = (round: number) => ({ kind: 'held-out-drugs', fraction: 0.2, seed: 200 + round });
  const steps: { name: string; run: (round: number) => Promise<{ ms: number; bytes: number; result: unknown }> }[] = [
    {
      name: 'splits.preview, new held-out-drug split (cold)',
      run: (round) => served('splits.preview', { datasetId, split: previewed(round) }),
    },
    { name: 'splits.preview, same split again', run: (round) => served('splits.preview', { datasetId, split: previewed(round) }) },
    {
      name: 'splits.preview, new scaffold split (cold)',
      run: (round) => served('splits.preview', { datasetId, split: { kind: 'scaffold', fraction: 0.2, seed: 200 + round } }),
    },
    ...(methodNames.includes('splits.assignment')
      ? [
          {
            name: 'splits.assignment, same held-out-drug split',
            run: (round: number) => served('splits.assignment', { datasetId, split: previewed(round) }),
          },
        ]
      : []),
    { name: 'environments.list (reference: every summary)', run: () => served('environments.list', { datasetId }) },
    { name: 'first page, no split (200 rows by key)', run: () => served('environments.page', page({})) },
    {
      name: 'first page, new held-out-drug split (preview cold)',
      run: (round) => served('environments.page', page({ split: { kind: 'held-out-drugs', fraction: 0.2, seed: 100 + round } })),
    },
    {
      name: 'next page, same split (preview kept)',
      run: (round) =>
        served('environments.page', page({ split: { kind: 'held-out-drugs', fraction: 0.2, seed: 100 + round }, offset: 20_000 })),
    },
    { name: `search "${search}"`, run: () => served('environments.page', page({ query: search })) },
    { name: 'search "zzz-no-match"', run: () => served('environments.page', page({ query: 'zzz-no-match' })) },
    { name: 'sort by samples, descending', run: () => served('environments.page', page({ sort: { key: 'nSamples', descending: true } })) },
    { name: 'sort by drug', run: () => served('environments.page', page({ sort: { key: 'drug', descending: false } })) },
    { name: 'sort by structure', run: () => served('environments.page', page({ sort: { key: 'structure', descending: false } })) },
    {
      name: 'sort by split (same split, preview kept)',
      run: (round) =>
        served(
          'environments.page',
          page({ split: { kind: 'held-out-drugs', fraction: 0.2, seed: 100 + round }, sort: { key: 'split', descending: false } }),
        ),
    },
    { name: 'page at offset 40,000 (by key)', run: () => served('environments.page', page({ offset: 40_000 })) },
    { name: 'facets (split picker, predict)', run: () => served('environments.facets', { datasetId }) },
    {
      name: `drug picker search "${search}" (50 treated)`,
      run: () => served('environments.page', { datasetId, query: search, treatedOnly: true, limit: 50 }),
    },
  ];

  // The dataset-read worker starts (loading its modules) on its first call: not what is measured.
  await served('environments.facets', { datasetId });
  const times = steps.map(() => [] as number[]);
  const sizes = steps.map(() => 0);
  const notes = steps.map(() => '');
  for (let round = 0; round < rounds; round++) {
    // Each round: the reference first, then every new call (the list takes seconds, so once a round).
    for (let s = 0; s < steps.length; s++) {
      const step = steps[s] as (typeof steps)[number];
      const { ms, bytes, result } = await step.run(round);
      (times[s] as number[]).push(ms);
      sizes[s] = bytes;
      const r = result as { matched?: number; total?: number; rows?: unknown[]; heldOutSamples?: number; heldOutGroups?: unknown[] };
      if (r.heldOutSamples !== undefined)
        notes[s] = `${r.heldOutSamples.toLocaleString()} samples, ${r.heldOutGroups?.length.toLocaleString()} groups named held out`;
      else if (r.matched !== undefined)
        notes[s] = `${r.rows?.length ?? 0} rows, ${r.matched.toLocaleString()} of ${r.total?.toLocaleString()} matched`;
      else if (Array.isArray(result)) notes[s] = `${result.length.toLocaleString()} summaries`;
    }
  }
  const reference = steps.findIndex((step) => step.name.startsWith('environments.list'));
  const referenceMs = median(times[reference] as number[]);
  const referenceBytes = sizes[reference] as number;
  console.log(
    `\n${'step'.padEnd(52)} ${'median ms'.padStart(10)} ${'× list'.padStart(8)} ${'bytes'.padStart(12)} ${'× list'.padStart(8)}  rounds: ${rounds}`,
  );
  steps.forEach((step, s) => {
    const ms = median(times[s] as number[]);
    const bytes = sizes[s] as number;
    console.log(
      `${step.name.padEnd(52)} ${ms.toFixed(0).padStart(10)} ${(ms / referenceMs).toFixed(3).padStart(8)} ${bytes.toLocaleString().padStart(12)} ${(bytes / referenceBytes).toFixed(4).padStart(8)}  ${notes[s]} (each: ${(times[s] as number[]).map((t) => t.toFixed(0)).join(', ')})`,
    );
  });

  if (exportAll) {
    // The CSV export's walk: every environment, 500 a page (the contract's limit), sorted by key.
    const t0 = performance.now();
    let fetched = 0;
    let bytes = 0;
    for (;;) {
      const answer = await served('environments.page', { datasetId, offset: fetched, limit: 500 });
      const rows = (answer.result as { rows: unknown[]; matched: number }).rows;
      fetched += rows.length;
      bytes += answer.bytes;
      if (rows.length === 0 || fetched >= (answer.result as { matched: number }).matched) break;
    }
    const exportMs = performance.now() - t0;
    const listOnce = await served('environments.list', { datasetId });
    console.log(
      `\nexport walk: ${fetched.toLocaleString()} rows in ${Math.ceil(fetched / 500)} pages: ${exportMs.toFixed(0)} ms, ${bytes.toLocaleString()} bytes; environments.list right after: ${listOnce.ms.toFixed(0)} ms, ${listOnce.bytes.toLocaleString()} bytes (ratio ${(exportMs / listOnce.ms).toFixed(2)})`,
    );
  }
} finally {
  await closeLab(lab);
}
console.log(`uptime at end: ${uptime()}`);
