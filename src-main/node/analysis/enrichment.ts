// Which gene sets a ranked gene list (a latent coordinate's decoder loadings, a DE result's t
// statistics) or a list of selected genes is enriched for:
//   preranked GSEA  weighted KS enrichment score (Subramanian et al. 2005, p = 1; the same ES as the
//                   connectivity score), NES and p from random gene sets of the same size (the gene-set
//                   permutation of GSEAPreranked), Benjamini–Hochberg over the sets tested;
//   hypergeometric  over-representation of a set among the selected genes, one-sided P(X ≥ overlap)
//                   against the dataset's genes, Benjamini–Hochberg.
import hypergeometricPmf from '@stdlib/stats-base-dists-hypergeometric-pmf';
import { geneLookup } from '../data/gene-sets.js';
import { enrichmentScore, makeRandomQueries, rankSignature } from './connectivity.js';
import { benjaminiHochberg } from './differential.js';

export interface MappedGeneSet {
  name: string;
  description: string;
  /** Indices into the dataset's genes. */
  indices: number[];
  /** Identifiers of the set that name no gene of the dataset. */
  unmatched: number;
}

/** Each set's identifiers mapped to the dataset's genes. */
export function mapGeneSets(
  genes: readonly { id: string; symbol: string }[],
  sets: readonly { name: string; description: string; genes: readonly string[] }[],
): MappedGeneSet[] {
  const find = geneLookup(genes);
  return sets.map((set) => {
    const indices = new Set<number>();
    let unmatched = 0;
    for (const identifier of set.genes) {
      const index = find(identifier);
      if (index === undefined) unmatched++;
      else indices.add(index);
    }
    return { name: set.name, description: set.description, indices: [...indices], unmatched };
  });
}

export interface SizeLimits {
  /** Sets with fewer genes in the dataset are not tested (a 2-gene set's ES says little). */
  minSize: number;
  maxSize: number;
}

export interface PrerankedRow {
  name: string;
  description: string;
  size: number;
  es: number;
  nes: number | null;
  p: number | null;
  fdr: number | null;
  /** The set's genes most responsible for the score: highest scores for a positive ES, lowest for a negative one. */
  leadingGenes: number[];
}

export function prerankedGsea(
  scores: ArrayLike<number>,
  sets: readonly MappedGeneSet[],
  options: SizeLimits & { permutations: number; seed: number; checkCancelled?: () => void },
): { rows: PrerankedRow[]; skipped: number } {
  const ranked = rankSignature(scores);
  const nGenes = scores.length;
  const tested = sets.filter(
    (s) => s.indices.length >= options.minSize && s.indices.length <= options.maxSize && s.indices.length < nGenes,
  );
  // Null ES depend only on the set size: one null distribution per size.
  const nullBySize = new Map<number, Float64Array>();
  const rows = tested.map((set) => {
    options.checkCancelled?.();
    const k = set.indices.length;
    let nulls = nullBySize.get(k);
    if (!nulls) {
      nulls = Float64Array.from(makeRandomQueries(nGenes, k, 0, options.permutations, options.seed + k), (q) =>
        enrichmentScore(ranked, q.up),
      );
      nullBySize.set(k, nulls);
    }
    const es = enrichmentScore(ranked, set.indices);
    const sameSign = nulls.filter((v) => (es >= 0 ? v >= 0 : v < 0));
    const meanAbs = sameSign.reduce((s, v) => s + Math.abs(v), 0) / sameSign.length;
    const exceed = sameSign.filter((v) => Math.abs(v) >= Math.abs(es)).length;
    const leading = [...set.indices].sort((a, b) => (es >= 0 ? -1 : 1) * ((scores[a] as number) - (scores[b] as number))).slice(0, 10);
    return {
      name: set.name,
      description: set.description,
      size: k,
      es,
      nes: sameSign.length > 0 && meanAbs > 0 ? es / meanAbs : null,
      p: options.permutations > 0 ? (1 + exceed) / (1 + sameSign.length) : null,
      fdr: null as number | null,
      leadingGenes: leading,
    };
  });
  const fdr = benjaminiHochberg(rows.map((r) => r.p));
  rows.forEach((r, i) => {
    r.fdr = fdr[i] ?? null;
  });
  return {
    rows: rows.sort((a, b) => (a.p ?? 1) - (b.p ?? 1) || Math.abs(b.nes ?? b.es) - Math.abs(a.nes ?? a.es)),
    skipped: sets.length - tested.length,
  };
}

/** P(X ≥ overlap) for X hypergeometric: `selected` draws from `universe` genes of which `setSize` are in the set. */
export function hypergeometricUpperTail(overlap: number, universe: number, setSize: number, selected: number): number {
  let p = 0;
  for (let x = overlap; x <= Math.min(setSize, selected); x++) p += hypergeometricPmf(x, universe, setSize, selected);
  return Math.min(1, p);
}

export interface OverRepresentationRow {
  name: string;
  description: string;
  size: number;
  overlap: number;
  expected: number;
  p: number;
  fdr: number | null;
  overlapGenes: number[];
}

export function overRepresentation(
  selected: readonly number[],
  universe: number,
  sets: readonly MappedGeneSet[],
  limits: SizeLimits,
): { rows: OverRepresentationRow[]; skipped: number } {
  const chosen = new Set(selected);
  const tested = sets.filter((s) => s.indices.length >= limits.minSize && s.indices.length <= limits.maxSize);
  const rows = tested.map((set) => {
    const overlapGenes = set.indices.filter((g) => chosen.has(g));
    return {
      name: set.name,
      description: set.description,
      size: set.indices.length,
      overlap: overlapGenes.length,
      expected: (set.indices.length * chosen.size) / universe,
      p: hypergeometricUpperTail(overlapGenes.length, universe, set.indices.length, chosen.size),
      fdr: null as number | null,
      overlapGenes,
    };
  });
  const fdr = benjaminiHochberg(rows.map((r) => r.p));
  rows.forEach((r, i) => {
    r.fdr = fdr[i] ?? null;
  });
  return { rows: rows.sort((a, b) => a.p - b.p || b.overlap - a.overlap), skipped: sets.length - tested.length };
}

/**
 * Both tests for one ranked gene list against one collection: preranked GSEA on `scores`, and the
 * hypergeometric test of `selected` among these genes. Gene indices in the rows become symbols.
 */
export function enrichGeneScores(
  genes: readonly { id: string; symbol: string }[],
  scores: ArrayLike<number>,
  selected: readonly number[],
  collection: readonly { name: string; description: string; genes: readonly string[] }[],
  options: SizeLimits & { permutations: number; seed: number; checkCancelled?: () => void },
) {
  const sets = mapGeneSets(genes, collection);
  const symbol = (g: number) => genes[g]?.symbol ?? String(g);
  const gsea = prerankedGsea(scores, sets, options);
  const ora = overRepresentation(selected, genes.length, sets, options);
  return {
    skipped: gsea.skipped,
    gsea: gsea.rows.map((r) => ({ ...r, leadingGenes: r.leadingGenes.map(symbol) })),
    overRepresentation: ora.rows.map((r) => ({ ...r, overlapGenes: r.overlapGenes.map(symbol) })),
  };
}

/** The `count` genes with the largest |score|, among those `eligible` allows. */
export function topByMagnitude(scores: ArrayLike<number>, count: number, eligible: (gene: number) => boolean = () => true): number[] {
  return Array.from({ length: scores.length }, (_, g) => g)
    .filter(eligible)
    .sort((a, b) => Math.abs(scores[b] as number) - Math.abs(scores[a] as number))
    .slice(0, count);
}
