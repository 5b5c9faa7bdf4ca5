/**
 * Synthetic L1000-shaped data whose drugs are real molecules: a latent SCM (synthetic.ts) in
 * which each drug's intervention is a fixed function of its Morgan fingerprint. Without such a
 * link no method could predict a drug it never saw, and comparing methods on unseen drugs would
 * measure nothing.
 *
 * The structure–activity design ("motifs"):
 * - Each latent mechanism j is driven by a few fingerprint bits, its motifs (default 3 per
 *   latent, each bit driving one latent at most), with weights w_b ~ N(0, 1). Motif bits are
 *   drawn from bits carried by at least two of the panel's drugs and at most half of them, so
 *   every motif is a substructure shared across drugs — often across scaffolds.
 * - Drug k shifts latent j by  effectScale · tanh(Σ_{b ∈ motifs(j)} w_b · fp_k[b]):  additive
 *   substructure contributions (as in Free–Wilson QSAR), saturating so that no drug moves a
 *   mechanism without bound. A drug moves only the latents whose motifs it carries: the shifts
 *   are sparse, as the seed's hypothesis asks.
 * - On top, every drug has one off-target offset ~ N(0, offTargetStd²) on a random latent,
 *   independent of its structure: the part of a drug's effect that no method can predict from
 *   chemistry, so even a perfect learner stays below R² = 1 on unseen drugs.
 * - Cell lines: cell line c > 1 offsets two latents by ±cellEffect (its identity); a drug in a
 *   cell line gets both offsets. Genes are nonlinear (ReLU nets) of the latents, so the same
 *   drug changes genes differently in different cell lines.
 * Environments are keyed drug × cell line and represented exactly as an L1000 import with
 * `--key drug+cell` represents them: the Morgan fingerprint (RDKit, radius 2, 1024 bits) followed
 * by a one-hot of the cell line. So training, scaffold splits, evaluation and `predict` treat this
 * data like imported data.
 */
import type { DatasetSummary } from '../../../shared/api/domain.js';
import type { FingerprintOptions } from '../../../shared/api/imports.js';
import type { JobContextLike } from '../../data/progress.js';
import { Rng } from '../../data/random.js';
import { referenceDrugs } from '../../data/reference-drugs.js';
import { cellColumn, fingerprintColumn } from '../../data/representation-columns.js';
import { type EnvironmentSpec, generateSynthetic, type Intervention, type SyntheticConfig } from '../../data/synthetic.js';
import type { EnvironmentRecord } from '../../store/datasets.js';
import type { Store } from '../../store/store.js';
import type { StructureSource } from './representation.js';
import { describeInterventions, scmGroundTruth, storeGeneratedSamples } from './synthetic.js';

export interface DrugPanelConfig {
  seed: number;
  /** How many of the bundled reference drugs (a seeded random choice; at most all of them). */
  drugs: number;
  cellLines: number;
  nLatents: number;
  nGenes: number;
  /** Samples per (drug, cell line) environment. */
  samplesPerDrug: number;
  /** Control samples per cell line. */
  controlSamples: number;
  motifsPerLatent?: number;
  effectScale?: number;
  offTargetStd?: number;
  cellEffect?: number;
  observedNoiseStd?: number;
  fingerprint?: FingerprintOptions;
}

export interface Motif {
  latent: number;
  bit: number;
  weight: number;
}

export interface DrugEffectDesign {
  motifs: Motif[];
  /** Per drug: the structural shift of each latent (effectScale · tanh of its motif sum). */
  structural: number[][];
  /** Per drug: the off-target offset no structure explains. */
  offTarget: { latent: number; value: number }[];
}

export const drugPanelDescription =
  'Synthetic L1000-shaped data (drug × cell-line environments, controls per cell line) whose drugs are real molecules from a ' +
  'bundled list, represented like an L1000 import: Morgan fingerprint (RDKit, radius 2, 1024 bits) plus cell line. A latent ' +
  'causal model generates expression; each latent mechanism is driven by three fingerprint bits (substructures shared by ' +
  'several drugs, often across scaffolds), and a drug shifts latent j by 3·tanh(Σ weights of the motif bits it carries), so ' +
  'drugs with common substructures act alike and each moves few latents. Every drug also has one off-target offset ' +
  '~N(0, 1) on a random latent that its structure does not explain. Cell line 2 differs from cell line 1 by offsets on two ' +
  'latents; genes are small ReLU networks of the latents.';

/**
 * The first-start demo: 24 bundled drugs in 2 cell lines, 200 genes, 20 samples per drug and cell
 * line and 60 controls per cell line (1,080 samples, 50 environments). Small so that first start
 * stays quick (the 24 structures are the slow part, about a second once RDKit has loaded), large
 * enough for scaffold splits with unseen drugs.
 */
export const demoDrugPanel: DrugPanelConfig = {
  seed: 0,
  drugs: 24,
  cellLines: 2,
  nLatents: 10,
  nGenes: 200,
  samplesPerDrug: 20,
  controlSamples: 60,
};

const DEFAULT_FINGERPRINT: FingerprintOptions = { radius: 2, nBits: 1024, chirality: false };

/** The structure–activity map of the module comment, from the panel's fingerprints. */
export function designDrugEffects(
  fingerprints: readonly Uint8Array[],
  nLatents: number,
  rng: Rng,
  options: { motifsPerLatent?: number; effectScale?: number; offTargetStd?: number } = {},
): DrugEffectDesign {
  const motifsPerLatent = options.motifsPerLatent ?? 3;
  const effectScale = options.effectScale ?? 3;
  const offTargetStd = options.offTargetStd ?? 1;
  const nBits = fingerprints[0]?.length ?? 0;
  const counts = new Int32Array(nBits);
  for (const fp of fingerprints) for (let b = 0; b < nBits; b++) if (fp[b]) counts[b] = (counts[b] as number) + 1;
  const shared = Array.from(counts, (n, b) => ({ n, b }))
    .filter(({ n }) => n >= 2 && n <= fingerprints.length / 2)
    .map(({ b }) => b);
  const chosen = rng
    .fork('motif-bits')
    .shuffle(shared)
    .slice(0, nLatents * motifsPerLatent);
  const weights = rng.fork('motif-weights');
  const motifs = chosen.map((bit, k) => ({ latent: k % nLatents, bit, weight: weights.normal() }));
  const structural = fingerprints.map((fp) => {
    const drive = new Float64Array(nLatents);
    for (const m of motifs) if (fp[m.bit]) drive[m.latent] = (drive[m.latent] as number) + m.weight;
    return Array.from(drive, (v) => (v === 0 ? 0 : effectScale * Math.tanh(v)));
  });
  const offTargetRng = rng.fork('off-target');
  const offTarget = fingerprints.map(() => ({ latent: offTargetRng.int(nLatents), value: offTargetStd * offTargetRng.normal() }));
  return { motifs, structural, offTarget };
}

/** Sums offsets per latent into one intervention each (the SCM takes one per latent). */
function offsets(values: ReadonlyMap<number, number>): Intervention[] {
  return [...values]
    .filter(([, v]) => v !== 0)
    .sort(([a], [b]) => a - b)
    .map(([latent, value]) => ({ latent, kind: 'offset' as const, value }));
}

/**
 * Generates and stores a drug panel. Structures come from `structures` (RDKit through the lab's
 * molecule cache), so fingerprints and scaffolds are the ones an import would compute.
 */
export async function importDrugPanel(
  store: Store,
  structures: StructureSource,
  config: DrugPanelConfig,
  options: { name: string; description: string },
  context?: JobContextLike,
): Promise<{ dataset: DatasetSummary; design: DrugEffectDesign }> {
  const fingerprint = config.fingerprint ?? DEFAULT_FINGERPRINT;
  const rng = new Rng(config.seed).fork('drug-panel');
  const count = Math.min(config.drugs, referenceDrugs.length);
  const panel = rng
    .fork('choice')
    .shuffle([...referenceDrugs])
    .slice(0, count);
  const described = [];
  for (const drug of panel) {
    const info = await structures.describe(drug.smiles, fingerprint);
    if (!info.ok) throw new Error(`internal: bundled drug ${drug.name} has no usable structure (${info.reason})`);
    described.push({ drug, info });
  }
  const design = designDrugEffects(
    described.map((d) => d.info.fingerprint),
    config.nLatents,
    rng.fork('design'),
    config,
  );
  const cellEffect = config.cellEffect ?? 2;
  const cellRng = rng.fork('cells');
  const cells = Array.from({ length: config.cellLines }, (_, c) => {
    const shift = new Map<number, number>();
    if (c > 0) for (let k = 0; k < 2; k++) shift.set(cellRng.int(config.nLatents), cellEffect * cellRng.sign());
    return { name: `cell-${c + 1}`, shift };
  });

  const environments: EnvironmentSpec[] = [];
  const records: EnvironmentRecord[] = [];
  const samples: number[] = [];
  const cellColumns = cells.map((c) => cellColumn(c.name));
  const vector = (bits: Uint8Array | null, cell: number) => {
    const v = new Float32Array(fingerprint.nBits + cells.length);
    if (bits) for (let b = 0; b < fingerprint.nBits; b++) v[b] = bits[b] ? 1 : 0;
    v[fingerprint.nBits + cell] = 1;
    return v;
  };
  const representationKind = `morgan-r${fingerprint.radius}-${fingerprint.nBits}`;
  // Controls first, as the import orders them: the reference environments.
  cells.forEach((cell, c) => {
    const key = `control | ${cell.name}`;
    environments.push({ name: key, interventions: offsets(cell.shift) });
    records.push({
      key,
      label: `control · ${cell.name}`,
      isControl: true,
      cellLine: cell.name,
      representation: vector(null, c),
      representationKind,
    });
    samples.push(config.controlSamples);
  });
  described.forEach(({ drug, info }, k) => {
    const structural = design.structural[k] as number[];
    const offTarget = design.offTarget[k] as { latent: number; value: number };
    cells.forEach((cell, c) => {
      const shift = new Map(cell.shift);
      structural.forEach((v, j) => {
        if (v !== 0) shift.set(j, (shift.get(j) ?? 0) + v);
      });
      shift.set(offTarget.latent, (shift.get(offTarget.latent) ?? 0) + offTarget.value);
      const key = `${drug.name} | ${cell.name}`;
      environments.push({ name: key, interventions: offsets(shift) });
      records.push({
        key,
        label: `${drug.name} · ${cell.name}`,
        isControl: false,
        perturbagen: {
          id: drug.name,
          name: drug.name,
          smiles: info.canonicalSmiles,
          ...(info.inchiKey ? { inchiKey: info.inchiKey } : {}),
          pertType: 'trt_cp',
        },
        cellLine: cell.name,
        representation: vector(info.fingerprint, c),
        representationKind,
      });
      samples.push(config.samplesPerDrug);
    });
  });

  const scm: SyntheticConfig = {
    seed: config.seed,
    nLatents: config.nLatents,
    nGenes: config.nGenes,
    graph: { kind: 'growing-network' },
    latentFunction: 'linear',
    observedFunction: 'relu-mlp',
    hiddenUnits: 3,
    parentProbability: 0.2,
    latentNoiseStd: 1,
    observedNoiseStd: config.observedNoiseStd ?? 0.3,
    environments,
    samplesPerEnvironment: samples,
  };
  const data = generateSynthetic(scm);
  context?.progress(0.2, `Generated ${data.nSamples} samples; storing`);
  records.forEach((r, i) => {
    r.label = `${r.label} (${describeInterventions(environments[i]?.interventions ?? [])})`;
  });
  const writer = store.datasets.begin({
    name: options.name,
    source: 'synthetic',
    description: options.description,
    provenance: {
      generator: 'cellshift synthetic drug panel (latent SCM, drug effects from Morgan fingerprints)',
      preset: 'drug-panel',
      seed: config.seed,
      environmentKey: 'drug+cell',
      fingerprint,
      panel: config,
    },
    groundTruth: {
      ...scmGroundTruth(data),
      decoderMatrix: null,
      drugEffects: {
        drugs: described.map((d) => d.drug.name),
        motifs: design.motifs,
        structural: design.structural,
        offTarget: design.offTarget,
      },
    },
    representationColumns: [...Array.from({ length: fingerprint.nBits }, (_, i) => fingerprintColumn(i)), ...cellColumns],
    genes: data.geneNames.map((name) => ({ id: name, symbol: name, landmark: true })),
    environments: records,
  });
  const dataset = storeGeneratedSamples(writer, data, context, (environment) => {
    const record = records[environment] as EnvironmentRecord;
    return {
      environment: record.key,
      pert_iname: record.perturbagen?.name ?? 'control',
      cell_id: record.cellLine ?? '',
      pert_type: record.isControl ? 'ctl_vehicle' : 'trt_cp',
    };
  });
  return { dataset, design };
}
