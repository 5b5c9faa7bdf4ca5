// Does describing a cell line by its basal profile (cellContext "basal") carry to cell lines never
// trained on, where its one-hot code cannot? A synthetic drug panel with several cell lines (each
// shifts two latents: its identity, visible in its controls), two cell lines held out whole; the same
// model trained with each cell line input, over several seeds; the held-out environments' Pearson r
// of Δ from the run's unseen-environment evaluation, beside the baselines.
//   node --import tsx bench/basal-context.ts [--cells 6] [--held-out 2] [--drugs 60] [--genes 200]
//     [--epochs 30] [--seeds 3] [--family cvae]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CachedStructures } from '../src-main/node/lab/import/structures.js';
import { drugPanelDescription, importDrugPanel } from '../src-main/node/lab/import/synthetic-drugs.js';
import { closeLab, openLab } from '../src-main/node/lab/open.js';
import { ModelFamily, TrainingConfig } from '../src-main/shared/api/training.js';
import { flagOptions } from './options.js';
import { median } from './stats.js';

process.env.CELLSHIFT_THREADS ??= '1';
const { value, int } = flagOptions('basal-context');
const cells = int('--cells', 6, 3);
const heldOutCells = int('--held-out', 2);
const epochs = int('--epochs', 30);
const seeds = int('--seeds', 3);
const family = ModelFamily.parse(value('--family') ?? 'cvae');
const panel = {
  seed: 0,
  drugs: int('--drugs', 60, 4),
  cellLines: cells,
  nLatents: 10,
  nGenes: int('--genes', 200, 10),
  samplesPerDrug: 6,
  controlSamples: 40,
};

const dir = mkdtempSync(join(tmpdir(), 'cellshift-basal-'));
const lab = await openLab({ databasePath: join(dir, 'lab.db'), carrier: 'cli', seedDemo: false });
try {
  const { dataset } = await importDrugPanel(lab.store, new CachedStructures(await lab.chemistry.load(), lab.store.molecules), panel, {
    name: 'basal-context bench',
    description: drugPanelDescription,
  });
  const cellLines = [...new Set(lab.store.datasets.environments(dataset.id).map((e) => e.cellLine))].filter((c) => c !== null).sort();
  const heldOut = cellLines.slice(-heldOutCells);
  console.log(
    `panel ${JSON.stringify(panel)}: ${dataset.nSamples} samples, ${dataset.nEnvironments} environments; held out: ${heldOut.join(', ')}; ${family}, ${epochs} epochs, ${seeds} seeds; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const byContext = new Map<string, Map<string, number[]>>();
  for (let seed = 0; seed < seeds; seed++) {
    for (const cellContext of ['one-hot', 'basal'] as const) {
      const config = TrainingConfig.parse({
        model: { family, environmentEncoding: 'representation', hiddenUnits: 64, latentDim: 10 },
        epochs,
        batchSize: 128,
        seed,
        cellContext,
        validation: { kind: 'held-out-cell-lines', cellLines: heldOut },
      });
      const run = lab.training.start(dataset.id, config);
      await lab.training.settled(run.id);
      const evaluation = await lab.analysis.unseen(run.id);
      const scores = byContext.get(cellContext) ?? new Map<string, number[]>();
      for (const s of evaluation.scores) scores.set(s.method, [...(scores.get(s.method) ?? []), s.pearsonDelta]);
      byContext.set(cellContext, scores);
      const model = evaluation.scores.find((s) => s.method === 'model');
      console.log(
        `seed ${seed}, ${cellContext}: ${evaluation.environments.length} held-out environments, model Pearson r of Δ ${model?.pearsonDelta.toFixed(3)}`,
      );
    }
  }
  console.log('\nPearson r of Δ on the held-out cell lines (median over seeds; min–max):');
  for (const [context, scores] of byContext) {
    for (const [method, values] of scores) {
      const label = `${method === 'model' ? family : method} · cell line as ${context}`;
      console.log(
        `  ${label.padEnd(44)} ${median(values).toFixed(3)}  (${Math.min(...values).toFixed(3)}–${Math.max(...values).toFixed(3)})`,
      );
    }
  }
  console.log(
    `load average at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await closeLab(lab);
  rmSync(dir, { recursive: true, force: true });
}
