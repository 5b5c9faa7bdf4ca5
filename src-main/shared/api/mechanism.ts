// Mechanism: gene sets and their enrichment, connectivity queries (CMap WTCS/NCS/Tau), and how well
// drug neighbourhoods agree with known mechanisms of action.
import { z } from 'zod';
import { Id } from './domain.js';

const GeneList = z.array(z.string().trim().min(1).max(200)).max(20_000);

/** Up/down gene lists (ids or symbols of the dataset's genes). */
export const ConnectivityQueryGenes = z.strictObject({
  up: GeneList,
  down: GeneList,
});

export const ConnectivityParams = z.strictObject({
  ...ConnectivityQueryGenes.shape,
  datasetId: Id,
  /** Random queries of the same sizes, for p-values and Tau (0: none). */
  randomQueries: z.number().int().min(0).max(10_000).default(1000),
  seed: z.number().int().min(0).max(2_147_483_647).default(1),
});

/** The same query against the signatures a run predicts for structures never profiled. */
export const ScreenParams = z.strictObject({
  ...ConnectivityQueryGenes.shape,
  runId: Id,
  smiles: z.array(z.string().trim().min(1).max(10_000)).min(1).max(10_000),
  cellLine: z.string().min(1).nullable().default(null),
  randomQueries: z.number().int().min(0).max(10_000).default(1000),
  seed: z.number().int().min(0).max(2_147_483_647).default(1),
});

export const QueryGeneMatch = z.object({
  requested: z.number().int(),
  matched: z.array(z.string()),
  /** Identifiers that name no gene of the dataset (left out of the query). */
  unmatched: z.array(z.string()),
});

export const ConnectivityRow = z.object({
  /** Sample id, or the SMILES of a predicted signature. */
  signature: z.string(),
  drug: z.string().nullable(),
  cellLine: z.string().nullable(),
  dose: z.string().nullable(),
  time: z.string().nullable(),
  pertType: z.string().nullable(),
  moa: z.array(z.string()),
  targets: z.array(z.string()),
  wtcs: z.number(),
  ncs: z.number(),
  tau: z.number().nullable(),
  correlation: z.number(),
  p: z.number().nullable(),
  fdr: z.number().nullable(),
  /** Predicted signatures only: the nearest training drug by Tanimoto, and how far the structure is from what the model saw. */
  applicability: z.object({ nearestDrug: z.string().nullable(), similarity: z.number(), note: z.string() }).nullable(),
});
export type ConnectivityRow = z.infer<typeof ConnectivityRow>;

export const ConnectivityResult = z.object({
  datasetId: Id,
  runId: Id.nullable(),
  up: QueryGeneMatch,
  down: QueryGeneMatch,
  /** How each signature's scores were formed from the stored values (z-scores as stored, or Δ from controls). */
  signatureScores: z.string(),
  randomQueries: z.number().int(),
  /** Why Tau is missing, when it is. */
  tauNote: z.string().nullable(),
  /** Sorted by NCS, strongest mimic first. */
  rows: z.array(ConnectivityRow),
});
export type ConnectivityResult = z.infer<typeof ConnectivityResult>;

export const GeneSetCollection = z.object({
  id: Id,
  name: z.string(),
  /** The file it came from (its name, not a path). */
  source: z.string(),
  format: z.enum(['gmt', 'gmx']),
  nSets: z.number().int(),
  createdAt: z.string(),
});
export type GeneSetCollection = z.infer<typeof GeneSetCollection>;

/** A GMT/GMX file's content (UTF-8 text), as the page read it or the command line did. */
export const ImportGeneSetsParams = z.strictObject({
  name: z.string().trim().min(1).max(200),
  fileName: z.string().trim().min(1).max(500),
  content: z
    .string()
    .min(1)
    .max(64 * 1024 * 1024),
});

const EnrichmentSource = z.union([
  /** A latent coordinate's gene program: the decoder's per-gene effect of moving that coordinate. */
  z.strictObject({ kind: z.literal('latent'), runId: Id, latent: z.number().int().min(0) }),
  /** A differential expression result, ranked by Welch's t (genes without a t are left out). */
  z.strictObject({ kind: z.literal('differential'), differential: z.lazy(() => DifferentialForEnrichment) }),
]);

/** The parts of a differential expression result enrichment reads. */
const DifferentialForEnrichment = z.object({
  datasetId: Id,
  genes: z.array(z.object({ id: z.string(), symbol: z.string(), t: z.number().nullable(), adjustedP: z.number().nullable() })).max(100_000),
});

export const EnrichmentParams = z.strictObject({
  collectionId: Id,
  source: EnrichmentSource,
  permutations: z.number().int().min(0).max(10_000).default(1000),
  minSize: z.number().int().min(1).max(10_000).default(5),
  maxSize: z.number().int().min(1).max(100_000).default(500),
  /** Genes selected for the hypergeometric test: the top N by |score| (latents) or adjusted p < 0.05 (DE), capped at N. */
  selectTop: z.number().int().min(1).max(10_000).default(50),
  seed: z.number().int().min(0).max(2_147_483_647).default(1),
});

export const EnrichmentResult = z.object({
  collectionId: Id,
  collectionName: z.string(),
  datasetId: Id,
  /** What was ranked, in words (e.g. "latent 17 of run …: decoder gene effects"). */
  ranked: z.string(),
  selected: z.object({ genes: z.array(z.string()), rule: z.string() }),
  /** Sets left out for having fewer than minSize or more than maxSize genes in the dataset. */
  skipped: z.number().int(),
  permutations: z.number().int(),
  gsea: z.array(
    z.object({
      name: z.string(),
      description: z.string(),
      size: z.number().int(),
      es: z.number(),
      nes: z.number().nullable(),
      p: z.number().nullable(),
      fdr: z.number().nullable(),
      leadingGenes: z.array(z.string()),
    }),
  ),
  overRepresentation: z.array(
    z.object({
      name: z.string(),
      description: z.string(),
      size: z.number().int(),
      overlap: z.number().int(),
      expected: z.number(),
      p: z.number(),
      fdr: z.number().nullable(),
      overlapGenes: z.array(z.string()),
    }),
  ),
});
export type EnrichmentResult = z.infer<typeof EnrichmentResult>;
export type EnrichmentParams = z.output<typeof EnrichmentParams>;

const RetrievalMethod = z.enum(['prior shift', 'measured Δ', 'fingerprint']);

export const MoaRetrievalResult = z.object({
  runId: Id,
  datasetId: Id,
  /** Drugs (non-control environments) in the dataset, and how many carry a known MoA. */
  drugs: z.number().int(),
  annotated: z.number().int(),
  /** Mean average precision of same-MoA neighbours, per description, with a random ranking's for reference. */
  scores: z.array(
    z.object({
      method: RetrievalMethod,
      map: z.number().nullable(),
      chance: z.number().nullable(),
      queries: z.number().int(),
      note: z.string().nullable(),
    }),
  ),
  verdict: z.string(),
});
export type MoaRetrievalResult = z.infer<typeof MoaRetrievalResult>;

export const DrugNeighboursResult = z.object({
  runId: Id,
  environmentKey: z.string(),
  moa: z.array(z.string()),
  targets: z.array(z.string()),
  methods: z.array(
    z.object({
      method: RetrievalMethod,
      neighbours: z.array(
        z.object({
          key: z.string(),
          label: z.string(),
          similarity: z.number(),
          moa: z.array(z.string()),
          targets: z.array(z.string()),
          sharedMoa: z.array(z.string()),
          sharedTargets: z.array(z.string()),
        }),
      ),
    }),
  ),
});
export type DrugNeighboursResult = z.infer<typeof DrugNeighboursResult>;
