// What the lab remembers between starts: each view's state (which dataset, run, projection,
// colouring...) and named selections of samples with free-text notes.
import { z } from 'zod';
import { Id } from './domain.js';
import { Base64, wordCountIssue } from './packed.js';
import { ValidationSplit } from './training.js';

export const ViewName = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'a view name: lower-case letters, digits and dashes');

/** A view's state is the view's own JSON; the renderer validates it against its schema when restoring. */
export const ViewState = z.record(z.string(), z.json());

export const StoredViewState = z.object({
  view: ViewName,
  /** Null when the view never saved anything. */
  state: ViewState.nullable(),
  updatedAt: z.string().nullable(),
});
export type StoredViewState = z.infer<typeof StoredViewState>;

export const SelectionName = z.string().trim().min(1).max(200);
export const SelectionNote = z.string().max(20_000);

/**
 * A named selection with its samples by index in the dataset's sample order (ascending, each once),
 * Int32 base64 (decodeSampleIndices), as a lasso sends them: a 100k lasso is 533 KB, where its ids
 * were ~1.5 MB of JSON strings. Whoever needs the ids (a CSV of the members) asks
 * datasets.sampleIdsAt with `sampleIndices`.
 */
export const Selection = z
  .object({
    id: Id,
    datasetId: Id,
    name: z.string(),
    note: z.string(),
    size: z.number().int().nonnegative(),
    sampleIndices: Base64,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .superRefine((selection, context) => {
    const issue = wordCountIssue(selection.sampleIndices, selection.size, `samples of selection "${selection.name}"`);
    if (issue) context.addIssue({ code: 'custom', path: ['sampleIndices'], message: issue });
  });
export type Selection = z.infer<typeof Selection>;

export const SaveSelectionParams = z
  .strictObject({
    datasetId: Id,
    /** Given: update that selection; absent: create one. */
    id: Id.optional(),
    name: SelectionName,
    note: SelectionNote.default(''),
    /** The samples by id; or */
    sampleIds: z.array(z.string().min(1).max(512)).min(1).max(1_000_000).optional(),
    /**
     * by index in the dataset's sample order, Int32 base64 (`encodeSampleIndices`): what a lasso
     * has, 533 KB for 100k samples that the serving thread forwards unparsed. Neither, on an
     * update: the samples stay as they are (renaming a selection need not send them again).
     */
    sampleIndices: Base64.max(5_400_000).optional(),
  })
  .refine((p) => p.sampleIds === undefined || p.sampleIndices === undefined, {
    message: 'give the samples as sampleIds or as sampleIndices, not both',
  })
  .refine((p) => p.id !== undefined || p.sampleIds !== undefined || p.sampleIndices !== undefined, {
    message: 'a new selection needs its samples (sampleIds or sampleIndices)',
  });
export type SaveSelectionParams = z.input<typeof SaveSelectionParams>;

/** The Latents view's remembered state, per dataset (the dataset last looked at is restored first). */
export const GroupRef = z.union([z.strictObject({ selectionId: Id }), z.strictObject({ environmentKey: z.string() })]);
export type GroupRef = z.infer<typeof GroupRef>;

export const LatentsDatasetState = z.object({
  runId: Id.nullable().default(null),
  method: z.enum(['pca', 'umap']).default('pca'),
  colourBy: z.string().default('environment key'),
  maxPoints: z.number().int().positive().default(20_000),
  /** Points of a UMAP (its own choice: a UMAP of PCA's 200,000 would take minutes). */
  umapPoints: z.number().int().positive().default(3_000),
  groupA: GroupRef.nullable().default(null),
  groupB: GroupRef.nullable().default(null),
});
export type LatentsDatasetState = z.infer<typeof LatentsDatasetState>;

export const LatentsViewState = z.object({
  datasetId: Id.nullable().default(null),
  datasets: z.record(Id, LatentsDatasetState).default({}),
});
export type LatentsViewState = z.infer<typeof LatentsViewState>;

/** What the whole window remembers: the dataset in use, the view showing, the validation split chosen. */
export const WorkspaceState = z.object({
  datasetId: Id.nullable().default(null),
  view: z.string().nullable().default(null),
  split: ValidationSplit.nullable().default(null),
});
export type WorkspaceState = z.infer<typeof WorkspaceState>;
