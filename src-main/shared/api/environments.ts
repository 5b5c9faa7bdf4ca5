// Environments a page at a time: a LINCS import has ~50k of them, too many to send (24 MB) or to
// lay out as rows at once. Search, sort and the totals are answered by the lab.
import { z } from 'zod';
import { EnvironmentSummary, Id } from './domain.js';
import { Base64, bytesOfBase64, decodePackedStrings, PackedStrings } from './packed.js';
import { ValidationSplit } from './training.js';

export const EnvironmentSortKey = z.enum(['key', 'drug', 'structure', 'nSamples', 'split']);
export type EnvironmentSortKey = z.infer<typeof EnvironmentSortKey>;

/** Where an environment's samples go under a split: every one held out, some (a metadata split), or none. */
export const EnvironmentPlace = z.enum(['held out', 'partly held out', 'train']);
export type EnvironmentPlace = z.infer<typeof EnvironmentPlace>;

export const ENVIRONMENT_PAGE_LIMIT = 500;

export const EnvironmentPageParams = z
  .strictObject({
    datasetId: Id,
    /** Case-insensitive substring of the key, label, drug id or name, cell line or SMILES. */
    query: z.string().max(500).default(''),
    /** Leave the controls out (pickers of a drug). */
    treatedOnly: z.boolean().default(false),
    sort: z.strictObject({ key: EnvironmentSortKey, descending: z.boolean().default(false) }).default({ key: 'key', descending: false }),
    /** The split whose place each row reports (and that sorting by split uses). */
    split: ValidationSplit.optional(),
    offset: z.number().int().min(0).default(0),
    limit: z.number().int().min(1).max(ENVIRONMENT_PAGE_LIMIT).default(100),
  })
  .refine((p) => p.sort.key !== 'split' || p.split !== undefined, {
    message: 'Sorting by split needs the split (params.split)',
    path: ['split'],
  });
export type EnvironmentPageParams = z.input<typeof EnvironmentPageParams>;
/** A page request as the contract parsed it (defaults filled in). */
export type EnvironmentPageRequest = z.output<typeof EnvironmentPageParams>;

/** Drugs (not environments: one drug has an environment per cell line) by whether their structure is usable. */
export const DrugStructureCounts = z.strictObject({
  parsed: z.number().int().nonnegative(),
  invalid: z.number().int().nonnegative(),
  missing: z.number().int().nonnegative(),
});
export type DrugStructureCounts = z.infer<typeof DrugStructureCounts>;

/** A summary with its place under the split asked for: null without one, or when the dataset cannot take that split. */
export const EnvironmentRow = EnvironmentSummary.extend({ place: EnvironmentPlace.nullable() });
export type EnvironmentRow = z.infer<typeof EnvironmentRow>;

export const EnvironmentPage = z.strictObject({
  /** Every environment of the dataset. */
  total: z.number().int().nonnegative(),
  /** Those the query (and treatedOnly) keep. */
  matched: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  rows: z.array(EnvironmentRow),
  /** Over the whole dataset, not the page; with the first page (offset 0) only. */
  drugStructures: DrugStructureCounts.nullable(),
});
export type EnvironmentPage = z.infer<typeof EnvironmentPage>;

/** The distinct values pickers offer (cell lines to hold out or predict in, doses and times trained on). */
export const EnvironmentFacets = z.strictObject({
  cellLines: z.array(z.string()),
  doses: z.array(z.string()),
  times: z.array(z.string()),
  /** Whether treated environments are keyed by dose and time (a prediction then asks for both). */
  keyedByDoseAndTime: z.boolean(),
});
export type EnvironmentFacets = z.infer<typeof EnvironmentFacets>;

/** Where each environment goes, by code in SplitAssignment.places: 0, 1, 2. */
export const SPLIT_PLACES = ['train', 'partly held out', 'held out'] as const satisfies readonly EnvironmentPlace[];

/**
 * Every environment's place under a split, for scripts and the CLI (the views ask for the rows
 * they show, with environments.page): the ids packed in environment (import) order and one byte
 * per environment, an index into SPLIT_PLACES. With every held-out group, not the first ones.
 */
export const SplitAssignment = z
  .strictObject({
    datasetId: Id,
    split: ValidationSplit,
    trainSamples: z.number().int().nonnegative(),
    heldOutSamples: z.number().int().nonnegative(),
    environmentIds: PackedStrings,
    places: Base64,
    heldOutGroups: z.array(z.string()),
    note: z.string().nullable(),
  })
  .superRefine((result, context) => {
    const places = bytesOfBase64(result.places);
    let ids: string[] = [];
    try {
      ids = decodePackedStrings(result.environmentIds, 'environmentIds', 'environment id');
    } catch (error) {
      context.addIssue({ code: 'custom', path: ['environmentIds'], message: error instanceof Error ? error.message : String(error) });
      return;
    }
    if (places.length !== ids.length)
      context.addIssue({ code: 'custom', path: ['places'], message: `${places.length} places for ${ids.length} environments` });
    if (places.some((p) => p >= SPLIT_PLACES.length))
      context.addIssue({ code: 'custom', path: ['places'], message: `a place code is not one of 0–${SPLIT_PLACES.length - 1}` });
  });
export type SplitAssignment = z.infer<typeof SplitAssignment>;

/** A SplitAssignment as one { environmentId, place } per environment, in environment order. */
export function decodeSplitAssignment(assignment: SplitAssignment): { environmentId: string; place: EnvironmentPlace }[] {
  const places = bytesOfBase64(assignment.places);
  return decodePackedStrings(assignment.environmentIds, 'environmentIds', 'environment id').map((environmentId, i) => ({
    environmentId,
    place: SPLIT_PLACES[places[i] as number] as EnvironmentPlace,
  }));
}
