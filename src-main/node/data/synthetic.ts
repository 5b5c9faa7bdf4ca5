/**
 * Synthetic gene-expression data from a latent structural causal model (seed §4.1, §5.1).
 *
 * d latent variables C_j sit on a DAG: C_j := f_j(PA_j) + Z_j with independent Gaussian
 * noise Z_j ~ N(0, σ_j²). Genes X_g := g_g(parents of g among C) + observation noise, with g
 * fixed across environments. An environment intervenes on latents: an offset is added to C_j
 * after f_j (so it propagates to descendants), or a noise intervention replaces the law of
 * Z_j by N(mean, std²) while f_j stays the same.
 *
 * Pure TypeScript: no Node or DOM imports, so it runs in the main process, workers and tests.
 */

import { Rng } from './random.js';

// ---------------------------------------------------------------------------------------------
// Public types

export type GraphSpec =
  /** Preferential-attachment DAG; each new node takes 1..maxParents (default 2) earlier parents. */
  | { kind: 'growing-network'; maxParents?: number }
  /** Independent latents. */
  | { kind: 'empty' }
  /** Explicit DAG, edges as [from, to] latent indices. */
  | { kind: 'edges'; edges: ReadonlyArray<readonly [number, number]> };

export type StructuralFunctionKind = 'linear' | 'relu-mlp';

export interface OffsetIntervention {
  latent: number;
  kind: 'offset';
  /** Added to C_j after its structural function. */
  value: number;
}

export interface NoiseIntervention {
  latent: number;
  kind: 'noise';
  /** Mean of the replacement noise law (default 0). */
  mean?: number;
  /** Standard deviation of the replacement noise law (default: the latent's own σ_j). */
  std?: number;
}

export type Intervention = OffsetIntervention | NoiseIntervention;

export interface EnvironmentSpec {
  name: string;
  /** Empty list = reference / control environment. */
  interventions: Intervention[];
}

export interface SyntheticConfig {
  seed: number;
  nLatents: number;
  nGenes: number;
  graph: GraphSpec;
  latentFunction: StructuralFunctionKind;
  observedFunction: StructuralFunctionKind;
  /** Hidden ReLU units of every 'relu-mlp' structural function (default 3). */
  hiddenUnits?: number;
  /** Probability that a given latent is a parent of a given gene (default 0.5). */
  parentProbability?: number;
  /** σ_j of the latent noise, one value for all or one per latent (default 1). 0 = deterministic latent. */
  latentNoiseStd?: number | number[];
  /** Std of Gaussian noise added to every gene (default 0). */
  observedNoiseStd?: number;
  environments: EnvironmentSpec[];
  samplesPerEnvironment: number | number[];
  /**
   * When true every environment reuses the same noise draws for the same sample index,
   * so environment k's sample i is the counterfactual of the control's sample i.
   * Default false: each environment gets its own independent noise stream.
   */
  counterfactualNoise?: boolean;
}

/** A config with every default filled in (what a dataset records, so it can be regenerated). */
export type ResolvedSyntheticConfig = SyntheticConfig &
  Required<Pick<SyntheticConfig, 'hiddenUnits' | 'parentProbability' | 'latentNoiseStd' | 'observedNoiseStd' | 'counterfactualNoise'>>;

/**
 * One structural function over an ordered list of parent indices. Weights are ±1.
 * - linear:   f(pa) = Σ_k weights[k] · pa[k]
 * - relu-mlp: f(pa) = Σ_h outputWeights[h] · ReLU(Σ_k hiddenWeights[h][k] · pa[k])   (no biases)
 * With no parents both evaluate to 0, so a root latent is its noise alone.
 */
export type StructuralFunction =
  | { kind: 'linear'; parents: number[]; weights: number[] }
  | { kind: 'relu-mlp'; parents: number[]; hiddenWeights: number[][]; outputWeights: number[] };

/** Everything fixed across environments: graph, functions and noise scales. */
export interface SyntheticStructure {
  nLatents: number;
  nGenes: number;
  /** [from, to] with from → to; sorted by (to, from). */
  latentEdges: [number, number][];
  /** Latent indices with every parent before its children. */
  topologicalOrder: number[];
  /** latentMechanisms[j] = f_j; its parents are PA_j. */
  latentMechanisms: StructuralFunction[];
  latentNoiseStd: number[];
  /** observedMechanisms[g] = g_g; its parents are latent indices. */
  observedMechanisms: StructuralFunction[];
  observedNoiseStd: number;
}

export interface SyntheticEnvironment {
  name: string;
  interventions: Intervention[];
  /**
   * Environment representation e, length 2·d:
   *   e[j]     = shift of the mean of C_j: offset value plus any noise-intervention mean (0 if none);
   *   e[d + j] = log(std / σ_j) of a noise intervention on C_j (0 if none or std unchanged).
   * A noise mean counts as an offset because noise is additive: both move C_j by the same amount.
   */
  representation: Float32Array;
}

export interface SyntheticTruth {
  latentEdges: [number, number][];
  /** latentWeights[j] is f_j (see StructuralFunction for the layout). */
  latentWeights: StructuralFunction[];
  latentNoiseStd: number[];
  topologicalOrder: number[];
  observedParents: number[][];
  /** observedWeights[g] is the gene's function of its latent parents. */
  observedWeights: StructuralFunction[];
  /** M, nGenes × nLatents row-major, zero where a latent is not a parent; only for linear genes. */
  decoderMatrix?: Float64Array;
}

export interface SyntheticDataset {
  config: ResolvedSyntheticConfig;
  nSamples: number;
  nGenes: number;
  nLatents: number;
  /** nSamples × nGenes, row-major; samples are grouped by environment in config order. */
  expression: Float32Array;
  /** nSamples × nLatents, row-major: the true C of every sample. */
  latents: Float32Array;
  /** Index into `environments` for every sample. */
  environmentIndex: Int32Array;
  environments: SyntheticEnvironment[];
  truth: SyntheticTruth;
  /** 'g0001', 'g0002', ... (1-based, like gene labels in a table). */
  geneNames: string[];
  /** 'C0', 'C1', ... (0-based, matching latent indices used in interventions). */
  latentNames: string[];
}

// ---------------------------------------------------------------------------------------------
// Small helpers (noUncheckedIndexedAccess-friendly reads that fail loudly instead of yielding NaN)

function read(values: ArrayLike<number>, index: number): number {
  const value = values[index];
  if (value === undefined) throw new Error(`internal: index ${index} out of range (length ${values.length})`);
  return value;
}

function item<T>(values: readonly T[], index: number): T {
  const value = values[index];
  if (value === undefined) throw new Error(`internal: index ${index} out of range (length ${values.length})`);
  return value;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function requirePositiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer, got ${show(value)}`);
  }
  return value;
}

function requireNonNegativeFinite(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a finite number >= 0, got ${show(value)}`);
  }
  return value;
}

function requireFinite(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`${name} must be a finite number, got ${show(value)}`);
  }
  return value;
}

function requireFunctionKind(name: string, value: unknown): StructuralFunctionKind {
  if (value !== 'linear' && value !== 'relu-mlp') {
    throw new Error(`${name} must be 'linear' or 'relu-mlp', got ${show(value)}`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Graphs

/** All latents reachable from `node` along edges (the node itself excluded). */
export function descendants(edges: ReadonlyArray<readonly [number, number]>, nLatents: number, node: number): Set<number> {
  const children: number[][] = Array.from({ length: nLatents }, () => []);
  for (const [from, to] of edges) item(children, from).push(to);
  const reached = new Set<number>();
  const frontier = [node];
  for (let next = frontier.pop(); next !== undefined; next = frontier.pop()) {
    for (const child of item(children, next)) {
      if (!reached.has(child)) {
        reached.add(child);
        frontier.push(child);
      }
    }
  }
  reached.delete(node);
  return reached;
}

/** Kahn's algorithm, smallest ready index first so the order is deterministic; throws on a cycle. */
function topologicalOrderOf(edges: ReadonlyArray<readonly [number, number]>, nLatents: number): number[] {
  const children: number[][] = Array.from({ length: nLatents }, () => []);
  const inDegree = new Array<number>(nLatents).fill(0);
  for (const [from, to] of edges) {
    item(children, from).push(to);
    inDegree[to] = item(inDegree, to) + 1;
  }
  const ready: number[] = [];
  for (let node = 0; node < nLatents; node++) if (item(inDegree, node) === 0) ready.push(node);
  const order: number[] = [];
  while (ready.length > 0) {
    ready.sort((left, right) => left - right);
    const node = ready.shift() as number;
    order.push(node);
    for (const child of item(children, node)) {
      const remaining = item(inDegree, child) - 1;
      inDegree[child] = remaining;
      if (remaining === 0) ready.push(child);
    }
  }
  if (order.length < nLatents) {
    const stuck: number[] = [];
    for (let node = 0; node < nLatents; node++) if (item(inDegree, node) > 0) stuck.push(node);
    throw new Error(`graph edges contain a cycle (latents involved: ${stuck.join(', ')})`);
  }
  return order;
}

function validateExplicitEdges(edges: unknown, nLatents: number): [number, number][] {
  if (!Array.isArray(edges)) throw new Error(`graph.edges must be an array of [from, to] pairs, got ${show(edges)}`);
  const seen = new Set<string>();
  const result: [number, number][] = [];
  edges.forEach((edge: unknown, index) => {
    if (!Array.isArray(edge) || edge.length !== 2) {
      throw new Error(`graph edge ${index} must be a [from, to] pair, got ${show(edge)}`);
    }
    const [from, to] = edge as unknown[];
    for (const end of [from, to]) {
      if (typeof end !== 'number' || !Number.isInteger(end) || end < 0 || end >= nLatents) {
        throw new Error(`graph edge ${index} (${show(edge)}) refers to latent ${show(end)}, but latents are 0..${nLatents - 1}`);
      }
    }
    const pair: [number, number] = [from as number, to as number];
    if (pair[0] === pair[1]) throw new Error(`graph edge ${index} is a self-loop on latent ${pair[0]} (a cycle)`);
    const key = `${pair[0]}>${pair[1]}`;
    if (seen.has(key)) throw new Error(`graph edge ${index} (${show(edge)}) is listed twice`);
    seen.add(key);
    result.push(pair);
  });
  return result;
}

/**
 * Growing-network DAG: nodes arrive in index order; node i ≥ 1 picks between 1 and
 * min(maxParents, i) distinct earlier nodes, each pick proportional to (current degree + 1),
 * where degree counts edges in and out. Edges run from earlier to later, so it is acyclic.
 */
function growingNetworkEdges(nLatents: number, maxParents: number, rng: Rng): [number, number][] {
  const degree = new Array<number>(nLatents).fill(0);
  const edges: [number, number][] = [];
  for (let node = 1; node < nLatents; node++) {
    const parentCount = 1 + rng.int(Math.min(maxParents, node));
    const candidates = Array.from({ length: node }, (_, earlier) => earlier);
    const parents: number[] = [];
    for (let pick = 0; pick < parentCount; pick++) {
      let totalWeight = 0;
      for (const candidate of candidates) totalWeight += item(degree, candidate) + 1;
      let threshold = rng.next() * totalWeight;
      let chosenPosition = candidates.length - 1;
      for (let position = 0; position < candidates.length; position++) {
        threshold -= item(degree, item(candidates, position)) + 1;
        if (threshold < 0) {
          chosenPosition = position;
          break;
        }
      }
      parents.push(item(candidates, chosenPosition));
      candidates.splice(chosenPosition, 1);
    }
    for (const parent of parents) {
      edges.push([parent, node]);
      degree[parent] = item(degree, parent) + 1;
      degree[node] = item(degree, node) + 1;
    }
  }
  return edges;
}

function buildLatentEdges(graph: GraphSpec, nLatents: number, rng: Rng): [number, number][] {
  switch (graph.kind) {
    case 'empty':
      return [];
    case 'edges':
      return validateExplicitEdges(graph.edges, nLatents);
    case 'growing-network':
      return growingNetworkEdges(nLatents, graph.maxParents ?? 2, rng);
  }
}

// ---------------------------------------------------------------------------------------------
// Structural functions

function drawStructuralFunction(kind: StructuralFunctionKind, parents: number[], hiddenUnits: number, rng: Rng): StructuralFunction {
  if (kind === 'linear') {
    return { kind, parents, weights: parents.map(() => rng.sign()) };
  }
  const hiddenWeights = Array.from({ length: hiddenUnits }, () => parents.map((): number => rng.sign()));
  const outputWeights = Array.from({ length: hiddenUnits }, (): number => rng.sign());
  return { kind, parents, hiddenWeights, outputWeights };
}

/** f(parents) where `values` is indexed by latent (only the function's parents are read). */
export function evaluateStructuralFunction(fn: StructuralFunction, values: ArrayLike<number>): number {
  const parents = fn.parents;
  if (fn.kind === 'linear') {
    let sum = 0;
    for (let k = 0; k < parents.length; k++) sum += read(fn.weights, k) * read(values, item(parents, k));
    return sum;
  }
  let output = 0;
  for (let hidden = 0; hidden < fn.outputWeights.length; hidden++) {
    const weights = item(fn.hiddenWeights, hidden);
    let preActivation = 0;
    for (let k = 0; k < parents.length; k++) preActivation += read(weights, k) * read(values, item(parents, k));
    if (preActivation > 0) output += read(fn.outputWeights, hidden) * preActivation;
  }
  return output;
}

// ---------------------------------------------------------------------------------------------
// Config validation

function resolveSamplesPerEnvironment(value: unknown, environmentCount: number): number[] {
  if (Array.isArray(value)) {
    if (value.length !== environmentCount) {
      throw new Error(`samplesPerEnvironment has ${value.length} entries but there are ${environmentCount} environments`);
    }
    return value.map((count: unknown, index) => requirePositiveInteger(`samplesPerEnvironment[${index}]`, count));
  }
  const count = requirePositiveInteger('samplesPerEnvironment', value);
  return new Array<number>(environmentCount).fill(count);
}

function resolveLatentNoiseStd(value: unknown, nLatents: number): number[] {
  if (Array.isArray(value)) {
    if (value.length !== nLatents) {
      throw new Error(`latentNoiseStd has ${value.length} entries but nLatents is ${nLatents}`);
    }
    return value.map((std: unknown, index) => requireNonNegativeFinite(`latentNoiseStd[${index}]`, std));
  }
  return new Array<number>(nLatents).fill(requireNonNegativeFinite('latentNoiseStd', value));
}

/** Checks every field and fills defaults; throws an Error naming the offending field. */
export function resolveSyntheticConfig(config: SyntheticConfig): ResolvedSyntheticConfig {
  if (typeof config !== 'object' || config === null) throw new Error('synthetic config must be an object');
  if (typeof config.seed !== 'number' || !Number.isSafeInteger(config.seed)) {
    throw new Error(`seed must be an integer, got ${show(config.seed)}`);
  }
  const nLatents = requirePositiveInteger('nLatents', config.nLatents);
  requirePositiveInteger('nGenes', config.nGenes);
  requireFunctionKind('latentFunction', config.latentFunction);
  requireFunctionKind('observedFunction', config.observedFunction);
  const hiddenUnits = requirePositiveInteger('hiddenUnits', config.hiddenUnits ?? 3);
  const parentProbability = config.parentProbability ?? 0.5;
  if (typeof parentProbability !== 'number' || !(parentProbability >= 0 && parentProbability <= 1)) {
    throw new Error(`parentProbability must be in [0, 1], got ${show(parentProbability)}`);
  }
  const latentNoiseStd = config.latentNoiseStd ?? 1;
  const noiseStds = resolveLatentNoiseStd(latentNoiseStd, nLatents);
  const observedNoiseStd = requireNonNegativeFinite('observedNoiseStd', config.observedNoiseStd ?? 0);

  const graph: unknown = config.graph;
  const graphKind = typeof graph === 'object' && graph !== null ? (graph as { kind?: unknown }).kind : undefined;
  if (graphKind === 'growing-network') {
    const maxParents = (graph as { maxParents?: unknown }).maxParents;
    if (maxParents !== undefined) requirePositiveInteger('graph.maxParents', maxParents);
  } else if (graphKind === 'edges') {
    topologicalOrderOf(validateExplicitEdges((graph as { edges?: unknown }).edges, nLatents), nLatents);
  } else if (graphKind !== 'empty') {
    throw new Error(`graph.kind must be 'growing-network', 'empty' or 'edges', got ${show(graphKind)}`);
  }

  if (!Array.isArray(config.environments) || config.environments.length === 0) {
    throw new Error('environments must be a non-empty array (use { name, interventions: [] } for a control)');
  }
  const names = new Set<string>();
  for (const environment of config.environments) {
    if (typeof environment?.name !== 'string' || environment.name.length === 0) {
      throw new Error(`every environment needs a non-empty name, got ${show(environment?.name)}`);
    }
    if (names.has(environment.name)) throw new Error(`environment name ${show(environment.name)} is used twice`);
    names.add(environment.name);
    resolveInterventions(environment, nLatents, noiseStds);
  }
  resolveSamplesPerEnvironment(config.samplesPerEnvironment, config.environments.length);
  const counterfactualNoise = config.counterfactualNoise ?? false;
  if (typeof counterfactualNoise !== 'boolean') {
    throw new Error(`counterfactualNoise must be a boolean, got ${show(counterfactualNoise)}`);
  }

  return {
    ...config,
    hiddenUnits,
    parentProbability,
    latentNoiseStd: Array.isArray(latentNoiseStd) ? [...latentNoiseStd] : latentNoiseStd,
    observedNoiseStd,
    counterfactualNoise,
  };
}

// ---------------------------------------------------------------------------------------------
// Interventions

/** Per-latent effect of an environment: C_j = f_j(PA_j) + noiseMean[j] + noiseScale[j]·ε_j + offset[j]. */
interface ResolvedInterventions {
  offset: Float64Array;
  noiseMean: Float64Array;
  noiseScale: Float64Array;
  representation: Float32Array;
}

function resolveInterventions(
  environment: { name?: string; interventions: readonly Intervention[] },
  nLatents: number,
  latentNoiseStd: readonly number[],
): ResolvedInterventions {
  const where = environment.name === undefined ? 'environment' : `environment ${show(environment.name)}`;
  if (!Array.isArray(environment.interventions)) {
    throw new Error(`${where}: interventions must be an array, got ${show(environment.interventions)}`);
  }
  const offset = new Float64Array(nLatents);
  const noiseMean = new Float64Array(nLatents);
  const noiseScale = Float64Array.from(latentNoiseStd);
  const representation = new Float32Array(2 * nLatents);
  const touched = new Set<number>();
  environment.interventions.forEach((intervention: Intervention, index) => {
    const latent: unknown = intervention?.latent;
    if (typeof latent !== 'number' || !Number.isInteger(latent) || latent < 0 || latent >= nLatents) {
      throw new Error(`${where}: intervention ${index} targets latent ${show(latent)}, but latents are 0..${nLatents - 1}`);
    }
    if (touched.has(latent)) {
      throw new Error(`${where}: latent ${latent} is intervened on more than once; combine them into one`);
    }
    touched.add(latent);
    const baselineStd = read(latentNoiseStd, latent);
    if (intervention.kind === 'offset') {
      const value = requireFinite(`${where}: offset value on latent ${latent}`, intervention.value);
      offset[latent] = value;
      representation[latent] = value;
    } else if (intervention.kind === 'noise') {
      const mean = requireFinite(`${where}: noise mean on latent ${latent}`, intervention.mean ?? 0);
      noiseMean[latent] = mean;
      representation[latent] = mean;
      if (intervention.std !== undefined) {
        const std = requireFinite(`${where}: noise std on latent ${latent}`, intervention.std);
        if (std <= 0) throw new Error(`${where}: noise std on latent ${latent} must be > 0, got ${std}`);
        if (baselineStd === 0) {
          throw new Error(
            `${where}: noise std set on latent ${latent}, which is deterministic (latentNoiseStd 0), so the ` +
              'std ratio is undefined; use an offset or a noise mean instead',
          );
        }
        noiseScale[latent] = std;
        representation[nLatents + latent] = Math.log(std / baselineStd);
      }
    } else {
      throw new Error(
        `${where}: intervention ${index} kind must be 'offset' or 'noise', got ${show((intervention as { kind?: unknown }).kind)}`,
      );
    }
  });
  return { offset, noiseMean, noiseScale, representation };
}

/** The representation vector e (length 2·d) of an environment; see SyntheticEnvironment. */
export function environmentRepresentation(
  structure: SyntheticStructure,
  environment: { name?: string; interventions: readonly Intervention[] },
): Float32Array {
  return resolveInterventions(environment, structure.nLatents, structure.latentNoiseStd).representation;
}

// ---------------------------------------------------------------------------------------------
// Structure and sampling

/**
 * Draws graph and weights from the seed. Each part uses its own fork of the seed, so the
 * graph and weights do not depend on sample counts or environments (and the latent part
 * does not depend on nGenes).
 */
export function buildStructure(config: SyntheticConfig): SyntheticStructure {
  const resolved = resolveSyntheticConfig(config);
  const { nLatents, nGenes, hiddenUnits, parentProbability } = resolved;
  const root = new Rng(resolved.seed);

  const latentEdges = buildLatentEdges(resolved.graph, nLatents, root.fork('graph'));
  latentEdges.sort((left, right) => left[1] - right[1] || left[0] - right[0]);
  const topologicalOrder = topologicalOrderOf(latentEdges, nLatents);

  const latentParents: number[][] = Array.from({ length: nLatents }, () => []);
  for (const [from, to] of latentEdges) item(latentParents, to).push(from);
  const latentFunctionRng = root.fork('latent-functions');
  const latentMechanisms = latentParents.map((parents) =>
    drawStructuralFunction(resolved.latentFunction, parents, hiddenUnits, latentFunctionRng),
  );

  const observedParentRng = root.fork('observed-parents');
  const observedFunctionRng = root.fork('observed-functions');
  const observedMechanisms: StructuralFunction[] = [];
  for (let gene = 0; gene < nGenes; gene++) {
    const parents: number[] = [];
    for (let latent = 0; latent < nLatents; latent++) {
      if (observedParentRng.next() < parentProbability) parents.push(latent);
    }
    // Seed §6.1: a gene left without a parent gets one latent parent at random.
    if (parents.length === 0) parents.push(observedParentRng.int(nLatents));
    observedMechanisms.push(drawStructuralFunction(resolved.observedFunction, parents, hiddenUnits, observedFunctionRng));
  }

  return {
    nLatents,
    nGenes,
    latentEdges,
    topologicalOrder,
    latentMechanisms,
    latentNoiseStd: resolveLatentNoiseStd(resolved.latentNoiseStd, nLatents),
    observedMechanisms,
    observedNoiseStd: resolved.observedNoiseStd,
  };
}

function sampleLatentsInto(
  structure: SyntheticStructure,
  effect: ResolvedInterventions,
  standardNoise: ArrayLike<number>,
  out: Float64Array,
): void {
  for (const latent of structure.topologicalOrder) {
    out[latent] =
      evaluateStructuralFunction(item(structure.latentMechanisms, latent), out) +
      read(effect.noiseMean, latent) +
      read(effect.noiseScale, latent) * read(standardNoise, latent) +
      read(effect.offset, latent);
  }
}

/**
 * One latent sample C for an environment from given standard-normal draws ε (length d):
 * Z_j = σ_j·ε_j, or mean + std·ε_j under a noise intervention. Passing the same ε with two
 * environments gives a counterfactual pair (same cell, different treatment).
 */
export function sampleLatents(
  structure: SyntheticStructure,
  environment: { name?: string; interventions: readonly Intervention[] },
  standardNoise: ArrayLike<number>,
): Float64Array {
  if (standardNoise.length !== structure.nLatents) {
    throw new Error(`standardNoise must have nLatents = ${structure.nLatents} entries, got ${standardNoise.length}`);
  }
  const effect = resolveInterventions(environment, structure.nLatents, structure.latentNoiseStd);
  const out = new Float64Array(structure.nLatents);
  sampleLatentsInto(structure, effect, standardNoise, out);
  return out;
}

/** Noise-free gene expression g(C) for one latent vector (length d), in float64. */
export function observeGenes(structure: SyntheticStructure, latents: ArrayLike<number>): Float64Array {
  if (latents.length !== structure.nLatents) {
    throw new Error(`latents must have nLatents = ${structure.nLatents} entries, got ${latents.length}`);
  }
  const out = new Float64Array(structure.nGenes);
  for (let gene = 0; gene < structure.nGenes; gene++) {
    out[gene] = evaluateStructuralFunction(item(structure.observedMechanisms, gene), latents);
  }
  return out;
}

/** M (nGenes × nLatents, row-major) of linear genes: X = M·C. Throws for non-linear genes. */
export function decoderMatrixOf(structure: SyntheticStructure): Float64Array {
  const matrix = new Float64Array(structure.nGenes * structure.nLatents);
  structure.observedMechanisms.forEach((mechanism, gene) => {
    if (mechanism.kind !== 'linear') throw new Error('decoderMatrixOf needs linear observed functions');
    mechanism.parents.forEach((latent, k) => {
      matrix[gene * structure.nLatents + latent] = read(mechanism.weights, k);
    });
  });
  return matrix;
}

function padded(index: number, width: number): string {
  return String(index).padStart(width, '0');
}

export function generateSynthetic(config: SyntheticConfig): SyntheticDataset {
  const resolved = resolveSyntheticConfig(config);
  const structure = buildStructure(resolved);
  const { nLatents, nGenes } = structure;
  const counts = resolveSamplesPerEnvironment(resolved.samplesPerEnvironment, resolved.environments.length);
  const nSamples = counts.reduce((total, count) => total + count, 0);

  const effects = resolved.environments.map((environment) => resolveInterventions(environment, nLatents, structure.latentNoiseStd));
  const expression = new Float32Array(nSamples * nGenes);
  const latents = new Float32Array(nSamples * nLatents);
  const environmentIndex = new Int32Array(nSamples);

  // Each environment draws from its own stream, so adding samples to one environment
  // appends to it without changing any existing sample.
  const sampleRoot = new Rng(resolved.seed).fork('samples');
  const epsilon = new Float64Array(nLatents);
  const latentValues = new Float64Array(nLatents);
  let sample = 0;
  effects.forEach((effect, environment) => {
    const stream = sampleRoot.fork(resolved.counterfactualNoise ? 'shared' : `environment-${environment}`);
    const latentNoise = stream.fork('latent-noise');
    const observationNoise = stream.fork('observation-noise');
    const count = read(counts, environment);
    for (let local = 0; local < count; local++, sample++) {
      for (let latent = 0; latent < nLatents; latent++) epsilon[latent] = latentNoise.normal();
      sampleLatentsInto(structure, effect, epsilon, latentValues);
      latents.set(latentValues, sample * nLatents);
      const rowStart = sample * nGenes;
      for (let gene = 0; gene < nGenes; gene++) {
        let value = evaluateStructuralFunction(item(structure.observedMechanisms, gene), latentValues);
        if (structure.observedNoiseStd > 0) value += structure.observedNoiseStd * observationNoise.normal();
        expression[rowStart + gene] = value;
      }
      environmentIndex[sample] = environment;
    }
  });

  const geneWidth = Math.max(4, String(nGenes).length);
  return {
    config: resolved,
    nSamples,
    nGenes,
    nLatents,
    expression,
    latents,
    environmentIndex,
    environments: resolved.environments.map((environment, index) => ({
      name: environment.name,
      interventions: environment.interventions.map((intervention) => ({ ...intervention })),
      representation: item(effects, index).representation,
    })),
    truth: {
      latentEdges: structure.latentEdges,
      latentWeights: structure.latentMechanisms,
      latentNoiseStd: structure.latentNoiseStd,
      topologicalOrder: structure.topologicalOrder,
      observedParents: structure.observedMechanisms.map((mechanism) => [...mechanism.parents]),
      observedWeights: structure.observedMechanisms,
      ...(resolved.observedFunction === 'linear' ? { decoderMatrix: decoderMatrixOf(structure) } : {}),
    },
    geneNames: Array.from({ length: nGenes }, (_, gene) => `g${padded(gene + 1, geneWidth)}`),
    latentNames: Array.from({ length: nLatents }, (_, latent) => `C${latent}`),
  };
}

// ---------------------------------------------------------------------------------------------
// Environments

export interface RandomEnvironmentOptions {
  /** Offsets are drawn from N(0, offsetStd²) (seed §6.4 uses 5). */
  offsetStd?: number;
  /** Probability that an environment is a noise intervention rather than an offset (default 0). */
  noiseFraction?: number;
  /** Noise-intervention std is log-uniform in this range (default [0.25, 4]). */
  noiseStdRange?: readonly [number, number];
  /** Noise-intervention mean is drawn from N(0, noiseMeanStd²) (default 0: pure scale change). */
  noiseMeanStd?: number;
  /** Names are `${namePrefix}01-offset-C3`, ... (default 'env'). */
  namePrefix?: string;
}

/** `count` environments, each intervening on one latent chosen uniformly (seed §6.4). */
export function randomEnvironments(rng: Rng, count: number, nLatents: number, options: RandomEnvironmentOptions = {}): EnvironmentSpec[] {
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be an integer >= 0, got ${show(count)}`);
  requirePositiveInteger('nLatents', nLatents);
  const offsetStd = requireNonNegativeFinite('offsetStd', options.offsetStd ?? 5);
  const noiseFraction = options.noiseFraction ?? 0;
  if (!(noiseFraction >= 0 && noiseFraction <= 1)) {
    throw new Error(`noiseFraction must be in [0, 1], got ${show(noiseFraction)}`);
  }
  const [minStd, maxStd] = options.noiseStdRange ?? [0.25, 4];
  if (!(minStd > 0 && maxStd >= minStd && Number.isFinite(maxStd))) {
    throw new Error(`noiseStdRange must be [min, max] with 0 < min <= max, got ${show(options.noiseStdRange)}`);
  }
  const noiseMeanStd = requireNonNegativeFinite('noiseMeanStd', options.noiseMeanStd ?? 0);
  const prefix = options.namePrefix ?? 'env';
  const width = Math.max(2, String(count).length);

  const environments: EnvironmentSpec[] = [];
  for (let index = 0; index < count; index++) {
    const latent = rng.int(nLatents);
    const isNoise = noiseFraction > 0 && rng.next() < noiseFraction;
    const label = `${prefix}${padded(index + 1, width)}`;
    if (isNoise) {
      const std = minStd * Math.exp(rng.next() * Math.log(maxStd / minStd));
      const mean = noiseMeanStd * rng.normal();
      environments.push({
        name: `${label}-noise-C${latent}`,
        interventions: [{ latent, kind: 'noise', mean, std }],
      });
    } else {
      environments.push({
        name: `${label}-offset-C${latent}`,
        interventions: [{ latent, kind: 'offset', value: offsetStd * rng.normal() }],
      });
    }
  }
  return environments;
}

/**
 * The environment (T_0, T_1, ...) of seed §6.1: offset T_j on latent j. Zero offsets add no
 * intervention, so all-zero offsets give the control environment.
 */
export function offsetEnvironment(offsets: readonly number[], name?: string): EnvironmentSpec {
  const interventions: Intervention[] = [];
  offsets.forEach((value, latent) => {
    if (value !== 0) interventions.push({ latent, kind: 'offset', value });
  });
  return { name: name ?? `(${offsets.join(', ')})`, interventions };
}

// ---------------------------------------------------------------------------------------------
// Presets matching the seed's studies

/** Seed §6.1: 2 independent latents, 10 linear genes (weights ±1), one environment (0, 0). */
export function presetLinearIndependent2(seed = 0): SyntheticConfig {
  return { ...twoLinearLatents(seed), graph: { kind: 'empty' }, latentNoiseStd: 1, environments: [offsetEnvironment([0, 0])] };
}

/**
 * Seed §6.2 / §6.3: latent 1 is a deterministic linear function of latent 0 (edge 0 → 1,
 * weight ±1, no noise on latent 1). Environments are offset pairs, e.g. [[0, 0]] for §6.2 or
 * [[0, 0], [0, 0.5]] for §6.3.
 */
export function presetLinearDependent2(environments: ReadonlyArray<readonly [number, number]> = [[0, 0]], seed = 0): SyntheticConfig {
  return {
    ...twoLinearLatents(seed),
    graph: { kind: 'edges', edges: [[0, 1]] },
    latentNoiseStd: [1, 0],
    environments: environments.map((offsets) => offsetEnvironment(offsets)),
  };
}

/** What §6.1–§6.3 share: 2 linear latents, 10 linear genes without observation noise, 1000 samples an environment. */
function twoLinearLatents(seed: number) {
  return {
    seed,
    nLatents: 2,
    nGenes: 10,
    latentFunction: 'linear',
    observedFunction: 'linear',
    parentProbability: 0.5,
    observedNoiseStd: 0,
    samplesPerEnvironment: 1000,
  } as const satisfies Partial<SyntheticConfig>;
}

export interface SplitPreset {
  /** environments = [...trainEnvironments, ...validationEnvironments] in this order. */
  config: SyntheticConfig;
  trainEnvironments: EnvironmentSpec[];
  validationEnvironments: EnvironmentSpec[];
}

/**
 * Seed §6.4: 5 latents on a growing network, noisy linear latents, genes from one-hidden-layer
 * ReLU nets with 3 units, 5 random training environments and 5 other random validation ones
 * (one latent, offset ~ N(0, 5²) each). The seed does not state the gene count; 50 is our choice.
 */
export function presetNonlinear5(seed = 0): SplitPreset {
  const environmentRng = new Rng(seed).fork('preset-environments');
  const trainEnvironments = randomEnvironments(environmentRng.fork('train'), 5, 5, { namePrefix: 'train' });
  const validationEnvironments = randomEnvironments(environmentRng.fork('validation'), 5, 5, {
    namePrefix: 'validation',
  });
  return {
    config: {
      seed,
      nLatents: 5,
      nGenes: 50,
      graph: { kind: 'growing-network' },
      latentFunction: 'linear',
      observedFunction: 'relu-mlp',
      hiddenUnits: 3,
      parentProbability: 0.5,
      latentNoiseStd: 1,
      observedNoiseStd: 0,
      environments: [...trainEnvironments, ...validationEnvironments],
      samplesPerEnvironment: 500,
    },
    trainEnvironments,
    validationEnvironments,
  };
}

/**
 * The app's built-in demo: 10 latents on a growing network, 200 ReLU-net genes with a little
 * observation noise, a control plus 23 single-latent interventions (about a third are noise
 * interventions), 80 samples each (1920 samples).
 */
export function presetDemo(seed = 0): SyntheticConfig {
  const environments = randomEnvironments(new Rng(seed).fork('demo-environments'), 23, 10, {
    offsetStd: 5,
    noiseFraction: 0.35,
    noiseStdRange: [0.25, 4],
    noiseMeanStd: 1,
    namePrefix: 'drug',
  });
  return {
    seed,
    nLatents: 10,
    nGenes: 200,
    graph: { kind: 'growing-network' },
    latentFunction: 'linear',
    observedFunction: 'relu-mlp',
    hiddenUnits: 3,
    parentProbability: 0.3,
    latentNoiseStd: 1,
    observedNoiseStd: 0.1,
    environments: [{ name: 'control', interventions: [] }, ...environments],
    samplesPerEnvironment: 80,
  };
}
