// What a lasso costs the serving thread (issue 13): saving 100k lassoed samples as a named
// selection and comparing two explicit groups, with the samples given as ids (the reference: what
// the Latents view sent before, and what the command line still sends) and as packed sample
// indices (what it sends now), alternating in each round, through the carriers' dispatcher in this
// process: each request's body made beforehand (the renderer's work), then parsed and dispatched
// here as the HTTP carrier does, which is what is timed.
//   node --import tsx bench/serving-lasso.ts [--samples 473647] [--lasso 100000] [--rounds 3]
// Per call: its time, and the serving thread's most CPU time between two turns of its event loop
// (schedstat, Linux: waiting for a core does not count, so load barely moves it).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJsonDispatcher, joinParts } from '../src-main/node/lab/dispatch.js';
import { PARAMS_CHECKED_IN_WORKER } from '../src-main/node/lab/handlers.js';
import { closeLab, openLab } from '../src-main/node/lab/open.js';
import { encodeSampleIndices } from '../src-main/shared/api/packed.js';
import { integerOption, usageError } from './options.js';

const o = { samples: 473_647, lasso: 100_000, rounds: 3 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const flag = argv[i] as string;
  if (flag === '--samples') o.samples = integerOption('serving-lasso', flag, argv[++i], 1000);
  else if (flag === '--lasso') o.lasso = integerOption('serving-lasso', flag, argv[++i], 2);
  else if (flag === '--rounds') o.rounds = integerOption('serving-lasso', flag, argv[++i], 1);
  else usageError('serving-lasso', `unknown option ${flag}`);
}
if (o.lasso * 2 > o.samples) usageError('serving-lasso', '--lasso must be at most half of --samples');

const SCHEDSTAT = `/proc/${process.pid}/task/${process.pid}/schedstat`;
const threadCpuMs = () => Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]) / 1e6;

/** The most CPU time this thread spent between two turns of its event loop while `work` ran. */
async function measured(work: () => Promise<void>): Promise<{ ms: number; heldCpuMs: number }> {
  let last = threadCpuMs();
  let held = 0;
  const turn = setInterval(() => {
    const cpu = threadCpuMs();
    held = Math.max(held, cpu - last);
    last = cpu;
  }, 2);
  const t0 = performance.now();
  try {
    await work();
    return { ms: performance.now() - t0, heldCpuMs: Math.max(held, threadCpuMs() - last) };
  } finally {
    clearInterval(turn);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'cellshift-serving-lasso-'));
const lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'browser', seedDemo: false });
try {
  const genes = 4;
  const environments = Array.from({ length: 1000 }, (_, e) => ({
    key: `drug${e}|CL${e % 7}`,
    label: `drug ${e}`,
    isControl: false,
    perturbagen: { id: `drug${e}` },
    cellLine: `CL${e % 7}`,
    representationKind: 'none',
  }));
  const writer = lab.store.datasets.begin({
    name: 'serving-lasso bench',
    source: 'synthetic',
    description: '',
    provenance: {},
    genes: Array.from({ length: genes }, (_, g) => ({ id: `g${g}`, symbol: `G${g}`, landmark: true })),
    environments,
  });
  writer.addSamples(
    (function* () {
      for (let s = 0; s < o.samples; s++) {
        yield {
          id: `SIG-${s.toString(36).padStart(6, '0')}:A01`,
          environment: s % 1000,
          metadata: {},
          expression: Float32Array.of(s % 5, 1, 2, s % 3),
        };
      }
    })(),
  );
  const datasetId = writer.commit().id;
  const ids = lab.store.datasets.sampleIds(datasetId);
  const dispatch = createJsonDispatcher(lab.handlers(), console.error, PARAMS_CHECKED_IN_WORKER);
  let nextId = 1;
  /** A request's body, made as the renderer makes it (not timed: that is the renderer's work). */
  const bodyOf = (method: string, params: unknown) => JSON.stringify({ id: nextId++, method, params });
  /** What the serving thread does with it, as the HTTP carrier: parse the body, dispatch; the answer's bytes. */
  const serve = async (body: string) => joinParts(await dispatch(JSON.parse(body)));
  const answerOf = (bytes: Uint8Array) => {
    const answer = JSON.parse(new TextDecoder().decode(bytes)) as { ok: boolean; result: { id?: string }; error?: unknown };
    if (!answer.ok) throw new Error(JSON.stringify(answer.error));
    return answer.result;
  };
  const send = async (method: string, params: unknown) => answerOf(await serve(bodyOf(method, params)));
  // A lasso: every other sample of a stretch, as points picked on a scatter are scattered over the dataset.
  const lassoed = Array.from({ length: o.lasso }, (_, k) => 2 * k);
  const rest = Array.from({ length: o.lasso }, (_, k) => 2 * k + 1);
  const forms = {
    ids: (indices: number[]) => ({ sampleIds: indices.map((i) => ids[i] as string) }),
    indices: (indices: number[]) => ({ sampleIndices: encodeSampleIndices(indices) }),
  };
  // Workers started and modules loaded before anything is timed.
  await send('selections.save', { datasetId, name: 'warm-up', ...forms.indices([0, 1]) });
  await send('analysis.differential', {
    datasetId,
    groupA: { name: 'a', ...forms.indices([0, 2]) },
    groupB: { name: 'b', ...forms.indices([1, 3]) },
  });
  const rows: string[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    for (const form of ['ids', 'indices'] as const) {
      const saveBody = bodyOf('selections.save', { datasetId, name: `lasso ${round} ${form}`, ...forms[form](lassoed) });
      let saved: Uint8Array = new Uint8Array();
      const save = await measured(async () => {
        saved = await serve(saveBody);
      });
      await send('selections.delete', { id: answerOf(saved).id });
      const compareBody = bodyOf('analysis.differential', {
        datasetId,
        groupA: { name: 'lasso', ...forms[form](lassoed) },
        groupB: { name: 'rest', ...forms[form](rest) },
      });
      let compared: Uint8Array = new Uint8Array();
      const compare = await measured(async () => {
        compared = await serve(compareBody);
      });
      answerOf(compared);
      const requestBytes = saveBody.length;
      rows.push(
        `| ${round} | ${form.padEnd(7)} | ${(requestBytes / 1e6).toFixed(2)} MB | ${save.ms.toFixed(0)} ms | ${save.heldCpuMs.toFixed(0)} ms | ${compare.ms.toFixed(0)} ms | ${compare.heldCpuMs.toFixed(0)} ms |`,
      );
      console.log(rows.at(-1));
    }
  }
  console.log(
    `\nserving-lasso: ${o.samples} samples × ${genes} genes, lasso of ${o.lasso} (every other sample) against as many; ${o.rounds} rounds, ids then indices in each; Node ${process.version}`,
  );
  console.log(
    '| round | samples as | selections.save request | save: time | save: serving thread held (CPU) | differential: time | differential: serving thread held (CPU) |',
  );
  console.log(
    '| ----- | ---------- | ----------------------- | ---------- | ------------------------------- | ------------------ | --------------------------------------- |',
  );
  for (const row of rows) console.log(row);
  console.log(
    `load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await closeLab(lab);
  rmSync(dir, { recursive: true, force: true });
}
