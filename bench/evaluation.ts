// Unseen-environment evaluation at LINCS size (issue 13): the baselines of every held-out
// environment (control mean, training mean, Tanimoto nearest neighbours, ridge) scored as
// `evaluateUnseen` scores them, minus the model's own predictions.
//   npm run bench:evaluation -- [--environments 40000] [--cells 71] [--held-out 0.2]
//                               [--samples-per-environment 2] [--reference 1000] [--no-factorisation-reference]
//
// Data: synthetic, shaped like GSE92742 keyed by drug × cell line: `--environments` drug × cell
// environments over `--cells` cell lines (plus one control environment per cell line), each
// drug a 1024-bit fingerprint with ~4.5% bits set (Morgan radius 2 density) and each environment's
// input that fingerprint plus a one-hot of its cell line; 978 genes = cell baseline + a linear
// drug effect + noise. Timings do not depend on which bits are set, so no structures are read.
//
// Reference (same run): the implementations unseen.ts had before (test/fixtures/reference-baselines.ts:
// dual kernel ridge with ml-matrix's solve per λ, float-vector Tanimoto with a full sort) on the
// first `--reference` environments of the same data, next to the current ones on the same subset;
// their predictions are compared. At full size, the ridge fit is also timed the previous way (a p×p
// Cholesky and triangular inverse per λ, through LAPACK when the addon has it) next to the default
// (one eigendecomposition for all λ), with the largest prediction difference; and the control-mean
// baseline is scored by the previous scorer next to the current one. Peak memory is this process's VmHWM (Linux), reported per phase
// as the growth of the high-water mark. Single process: the analysis worker runs this same code.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fitRidge, SimilarityIndex } from '../src-main/node/analysis/baselines.js';
import { type Factorisation, factorisationBackend, multiplyBackend, native } from '../src-main/node/analysis/dense.js';
import { baselinePredictors, environmentMeansOf, scoreEnvironment, UnseenProblem } from '../src-main/node/analysis/unseen.js';
import { Rng } from '../src-main/node/data/random.js';
import type { TrainingData } from '../src-main/node/ml/training-data.js';
import {
  referenceEnvironmentMeans,
  referenceRidge,
  referenceScoreEnvironment,
  referenceSimilarity,
} from '../test/fixtures/reference-baselines.js';

const GENES = 978;
const BITS = 1024;
const MB = 1e6;

interface Options {
  environments: number;
  cells: number;
  heldOut: number;
  samplesPerEnvironment: number;
  reference: number;
  factorisationReference: boolean;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    environments: 40_000,
    cells: 71,
    heldOut: 0.2,
    samplesPerEnvironment: 2,
    reference: 1000,
    factorisationReference: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--no-factorisation-reference') {
      o.factorisationReference = false;
      continue;
    }
    const value = Number(argv[++i]);
    const integer = (min: number) => {
      if (!Number.isInteger(value) || value < min) throw new Error(`${flag} needs an integer ≥ ${min}, got "${argv[i]}"`);
      return value;
    };
    if (flag === '--environments') o.environments = integer(10);
    else if (flag === '--cells') o.cells = integer(1);
    else if (flag === '--samples-per-environment') o.samplesPerEnvironment = integer(1);
    else if (flag === '--reference') o.reference = integer(0);
    else if (flag === '--held-out') {
      if (!(value > 0 && value < 1)) throw new Error(`--held-out needs a fraction in (0, 1), got "${argv[i]}"`);
      o.heldOut = value;
    } else throw new Error(`unknown option ${flag}`);
  }
  return o;
}

/** Peak resident memory of this process so far (VmHWM), in bytes; 0 where /proc is absent. */
function peakRss(): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function timed<T>(label: string, run: () => T): T {
  const start = performance.now();
  const before = peakRss();
  const result = run();
  const seconds = (performance.now() - start) / 1000;
  const after = peakRss();
  console.log(
    `  ${label.padEnd(44)} ${seconds.toFixed(2).padStart(8)} s   peak RSS ${(after / MB).toFixed(0)} MB (+${((after - before) / MB).toFixed(0)})`,
  );
  return result;
}

/** GSE92742-shaped training data keyed by drug × cell line; held-out environments are whole drugs × cells. */
function lincsShapedData(o: Options, environments: number, seed = 13): TrainingData {
  const rng = new Rng(seed);
  const treated = environments;
  const total = treated + o.cells; // one control environment per cell line
  const drugs = Math.max(1, Math.round(treated / 2.3)); // GSE92742: ~20k compounds over ~46k drug × cell pairs
  const fingerprints = new Uint8Array(drugs * BITS);
  for (let i = 0; i < fingerprints.length; i++) fingerprints[i] = rng.next() < 0.045 ? 1 : 0;
  const width = BITS + o.cells;
  const inputs = new Float32Array(total * width);
  const keys: string[] = [];
  const drugOf = new Int32Array(total).fill(-1);
  const cellOf = new Int32Array(total);
  for (let e = 0; e < total; e++) {
    const cell = e < treated ? e % o.cells : e - treated;
    cellOf[e] = cell;
    if (e < treated) {
      const drug = Math.floor((e * drugs) / treated);
      drugOf[e] = drug;
      for (let b = 0; b < BITS; b++) inputs[e * width + b] = fingerprints[drug * BITS + b] as number;
      keys.push(`drug${drug} | cell${cell}`);
    } else keys.push(`control | cell${cell}`);
    inputs[e * width + BITS + cell] = 1;
  }
  const bitEffects = Float32Array.from({ length: BITS * GENES }, () => (rng.next() < 0.02 ? rng.normal() * 0.3 : 0));
  const cellBase = Float32Array.from({ length: o.cells * GENES }, () => rng.normal());
  const nSamples = total * o.samplesPerEnvironment;
  const x = new Float32Array(nSamples * GENES);
  const environmentOfSample = new Int32Array(nSamples);
  const held = new Uint8Array(total);
  for (let e = 0; e < treated; e++) held[e] = rng.next() < o.heldOut ? 1 : 0;
  const train: number[] = [];
  const validation: number[] = [];
  const mean = new Float32Array(GENES);
  for (let e = 0; e < total; e++) {
    mean.set(cellBase.subarray((cellOf[e] as number) * GENES, ((cellOf[e] as number) + 1) * GENES));
    const drug = drugOf[e] as number;
    if (drug >= 0)
      for (let b = 0; b < BITS; b++) {
        if (!fingerprints[drug * BITS + b]) continue;
        for (let g = 0; g < GENES; g++) mean[g] = (mean[g] as number) + (bitEffects[b * GENES + g] as number);
      }
    for (let s = 0; s < o.samplesPerEnvironment; s++) {
      const i = e * o.samplesPerEnvironment + s;
      environmentOfSample[i] = e;
      for (let g = 0; g < GENES; g++) x[i * GENES + g] = (mean[g] as number) + rng.normal();
      (held[e] ? validation : train).push(i);
    }
  }
  return {
    nGenes: GENES,
    geneIds: Array.from({ length: GENES }, (_, g) => `g${g}`),
    x,
    environmentOfSample,
    environmentKeys: keys,
    environmentInputs: inputs,
    environmentWidth: width,
    environmentClass: Int32Array.from({ length: total }, (_, e) => (held[e] ? -1 : e)),
    environmentClasses: total,
    trainIndices: Int32Array.from(train),
    validationIndices: Int32Array.from(validation),
    validationEnvironments: keys.filter((_, e) => held[e]),
    standardization: null,
  };
}

/** What evaluateUnseen does for the baselines: fit them, then score every held-out environment. */
function evaluateBaselines(data: TrainingData, factorisationReference: boolean): void {
  // The previous means (a float64 sum per environment) on the same data, for the ratio.
  timed('reference: environment means, a sum per environment', () => {
    referenceEnvironmentMeans(data, data.trainIndices);
    return referenceEnvironmentMeans(data, data.validationIndices);
  });
  timed('current: environment means, one accumulator', () => {
    environmentMeansOf(data, data.trainIndices);
    return environmentMeansOf(data, data.validationIndices);
  });
  const problem = timed('environment means (train and held-out)', () => new UnseenProblem(data));
  console.log(`    ${problem.treatedTrain.length} treated training environments, ${problem.heldOut.length} held out`);
  if (factorisationReference) compareFactorisations(problem);
  const predictors = timed('fit baselines (ridge LOO over 6 λ, packed bits)', () => baselinePredictors(problem));
  compareScoring(problem);
  for (const [method, predict] of predictors) {
    const { mean } = timed(`score ${method}`, () => problem.score(predict));
    console.log(`    ${method}: R² ${mean.r2.toFixed(3)}, Pearson Δ ${mean.pearsonDelta.toFixed(3)}`);
  }
}

/** The control-mean baseline scored by the previous scorer (allocating, full sort) and the current one. */
function compareScoring(problem: UnseenProblem): void {
  const scoreAll = (score: typeof scoreEnvironment) =>
    problem.heldOut.map((e) => score(problem.heldMeans[e] as Float32Array, problem.control(e), problem.control(e)));
  const reference = timed('reference: score control mean, allocating scorer', () => scoreAll(referenceScoreEnvironment));
  const current = timed('current: score control mean, reused buffers', () => scoreAll(scoreEnvironment));
  const same = reference.every((r, k) => JSON.stringify(r) === JSON.stringify(current[k]));
  console.log(`    same scores for all ${reference.length} environments: ${same}`);
}

/** The ridge fit as evaluateUnseen makes it, the previous way (a Cholesky per λ) and then by default. */
function compareFactorisations(problem: UnseenProblem): void {
  const train = problem.treatedTrain;
  const width = problem.data.environmentWidth;
  const features = { count: train.length, width, row: (i: number) => problem.input(train[i] as number) };
  const targets = {
    count: train.length,
    width: problem.data.nGenes,
    row: (i: number) => problem.trainMeans[train[i] as number] as Float32Array,
  };
  const held = { count: problem.heldOut.length, width, row: (i: number) => problem.input(problem.heldOut[i] as number) };
  // The previous default: a Cholesky and triangular inverse per λ, through LAPACK when the addon has it.
  const previous: Factorisation = native()?.choleskyInverse ? 'native' : 'javascript';
  const describe = (f: Factorisation) => (f === 'eigen' ? 'one eigendecomposition (dsyevd) for all λ' : `${f} Cholesky + inverse per λ`);
  const fits = ([previous, factorisationBackend()] as const).map((factorisation, k) =>
    timed(`${k === 0 ? 'reference' : 'current'}: ridge fit, ${describe(factorisation)}`, () => {
      const ridge = fitRidge(features, targets, { factorisation });
      return { lambda: ridge.lambda, predictions: ridge.predictRows(held) };
    }),
  );
  const [reference, current] = fits as [(typeof fits)[number], (typeof fits)[number]];
  let largest = 0;
  reference.predictions.forEach((v, i) => {
    largest = Math.max(largest, Math.abs(v - (current.predictions[i] as number)));
  });
  console.log(`    λ ${reference.lambda} and ${current.lambda}; largest prediction difference ${largest.toExponential(2)}`);
}

/** Old and new ridge and nearest neighbours on the same subset, timed, with their largest difference. */
function compareWithReference(data: TrainingData): void {
  const problem = new UnseenProblem(data);
  const train = problem.treatedTrain;
  const features = train.map((e) => problem.input(e));
  const targets = train.map((e) => problem.trainMeans[e] as Float32Array);
  const width = data.environmentWidth;
  const sameCell = (e: number) => train.filter((t) => problem.cellOf(t) === problem.cellOf(e));
  const reference = timed(`reference: dual ridge (ml-matrix), ${train.length} envs`, () => {
    const ridge = referenceRidge(features, targets);
    return problem.heldOut.map((e) => ridge.predict(problem.input(e)));
  });
  const current = timed(`current: ridge (${train.length <= width ? 'dual' : 'primal'} form)`, () => {
    const ridge = fitRidge(
      { count: train.length, width, row: (i) => features[i] as Float32Array },
      { count: train.length, width: data.nGenes, row: (i) => targets[i] as Float32Array },
    );
    return problem.heldOut.map((e) => ridge.predict(problem.input(e)));
  });
  let ridgeDifference = 0;
  reference.forEach((r, k) => {
    r.forEach((v, g) => {
      ridgeDifference = Math.max(ridgeDifference, Math.abs(v - ((current[k] as Float32Array)[g] as number)));
    });
  });
  const referenceNeighbours = timed('reference: Tanimoto top 5 (float vectors, sort)', () =>
    problem.heldOut.map((e) =>
      sameCell(e)
        .map((t) => ({ t, s: referenceSimilarity(problem.input(e), problem.input(t)) }))
        .sort((a, b) => b.s - a.s)
        .slice(0, 5)
        .map((r) => r.t),
    ),
  );
  const currentNeighbours = timed('current: Tanimoto top 5 (packed bits)', () => {
    const index = new SimilarityIndex({ count: data.environmentKeys.length, width, row: (e) => problem.input(e) });
    return problem.heldOut.map((e) => index.nearest(e, sameCell(e), 5).map((r) => r.index));
  });
  const sameNeighbours = referenceNeighbours.every((r, k) => r.join() === currentNeighbours[k]?.join());
  console.log(`    largest ridge prediction difference ${ridgeDifference.toExponential(2)}; same neighbours: ${sameNeighbours}`);
}

const o = parseOptions(process.argv.slice(2));
console.log(
  `bench:evaluation — ${o.environments} drug × cell environments over ${o.cells} cell lines, ${(o.heldOut * 100).toFixed(0)}% held out, ` +
    `${o.samplesPerEnvironment} samples each, ${GENES} genes, inputs ${BITS}-bit fingerprint + cell one-hot`,
);
console.log(
  `  products: ${multiplyBackend()}; p×p factorisations: ${factorisationBackend()}; ${cpus().length} cores, load average ${loadavg()[0]?.toFixed(1)} at start`,
);
if (o.reference > 0) {
  console.log(`\nReference and current on the first ${o.reference} environments:`);
  compareWithReference(lincsShapedData(o, o.reference));
}
console.log(`\nCurrent at ${o.environments} environments:`);
const data = timed('synthesise data', () => lincsShapedData(o, o.environments));
const start = performance.now();
evaluateBaselines(data, o.factorisationReference);
console.log(
  `  baselines evaluated in ${((performance.now() - start) / 1000).toFixed(1)} s; load average ${loadavg()[0]?.toFixed(1)} at end`,
);
