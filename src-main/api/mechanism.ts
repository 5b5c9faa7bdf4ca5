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
