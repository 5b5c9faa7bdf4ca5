// Reads of a stored dataset that need no model: served by their own worker thread
// (dataset-read-worker.ts), so a view's sample columns and environment list never wait behind a
// model load or a projection in the analysis worker, nor stall the serving thread with a scan of
// every sample. Also part of the analysis worker's table (operations.ts).
import type { SampleColumnResult } from '../../shared/api/analysis.js';
import type { EnvironmentRepresentations, EnvironmentSummary } from '../../shared/api/domain.js';
import {
  type EnvironmentFacets,
  type EnvironmentPage,
  type EnvironmentPageRequest,
  type EnvironmentPlace,
  SPLIT_PLACES,
  type SplitAssignment,
} from '../../shared/api/environments.js';
import { LabError } from '../../shared/api/errors.js';
import {
  type CodedColumn,
  decodeSampleIndices,
  encodePackedStrings,
  type SampleColumnsParams,
  type SampleColumnsResult,
  type SampleIdsAtParams,
  type SampleIdsAtResult,
} from '../../shared/api/packed.js';
import type { Selection } from '../../shared/api/sessions.js';
import { SPLIT_PREVIEW_GROUPS, type SplitPreview, type ValidationSplit } from '../../shared/api/training.js';
import { type EnvironmentSplit, PLACE_ALL, PLACE_SOME, splitOfEnvironments } from '../ml/training-data.js';
import type { SplitFacts } from '../store/datasets.js';
import { type StoredSelection, sampleIndicesBlob, samplePositions } from '../store/sessions.js';
import type { Store } from '../store/store.js';

/** What a dataset read is given: the worker's read-only connection and its request's cancel signal. */
export interface DatasetReadContext {
  readonly store: Store;
  readonly signal: AbortSignal;
}

/** Every sample's value of `column` (a metadata column, or 'sample id' / 'environment key'), in sample order. */
function columnValues(store: Store, datasetId: string, column: string): (string | null)[] {
  const { datasets } = store;
  if (column === 'environment key') return datasets.sampleEnvironmentKeys(datasetId);
  if (column === 'sample id') return datasets.sampleIds(datasetId);
  return datasets.sampleColumn(datasetId, column);
}

/** A column dictionary-encoded for the wire (decodeCodedColumn in packed.ts reads it). */
export function encodeCodedColumn(column: string, values: readonly (string | null)[]): CodedColumn {
  const levelOf = new Map<string, number>();
  const levels: string[] = [];
  const codes = new Int32Array(values.length);
  for (let s = 0; s < values.length; s++) {
    const value = values[s];
    if (value === null || value === undefined) {
      codes[s] = -1;
      continue;
    }
    let code = levelOf.get(value);
    if (code === undefined) {
      code = levels.length;
      levelOf.set(value, code);
      levels.push(value);
    }
    codes[s] = code;
  }
  const packed = encodePackedStrings(levels);
  return { column, levels: packed.values, levelEnds: packed.ends, codes: base64Of(codes) };
}

export function base64Of(values: Int32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

/**
 * Stored selections as selections.list and selections.save answer them: each one's samples as
 * packed indices, as stored (migration 12). A row without them has its ids turned into positions
 * here, reading every sample id of the dataset (473k at LINCS size): never on the serving thread.
 */
function selectionsWithIndices(store: Store, datasetId: string, stored: readonly StoredSelection[]): Selection[] {
  let positionOf: Map<string, number> | null = null;
  return stored.map(({ selection, sampleIndices, sampleIdsJson }) => {
    let bytes = sampleIndices;
    if (bytes === null) {
      positionOf ??= samplePositions(store.db, datasetId);
      bytes = sampleIndicesBlob(JSON.parse(sampleIdsJson ?? '[]') as string[], positionOf);
    }
    return {
      ...selection,
      size: bytes.byteLength / 4,
      sampleIndices: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
    };
  });
}

/** A split of one dataset as the worker keeps it: its places, and the environments' ids they belong to. */
interface KeptSplit extends EnvironmentSplit {
  environmentIds: readonly string[];
  /** Each environment's place by id, made when a page first asks for it. */
  placeById?: Map<string, EnvironmentPlace>;
}

/** Splits kept per store: a view previews a split, then pages through it, sorts by it, and flips between a few. */
const KEPT_SPLITS = 4;
const keptSplits = new WeakMap<Store, Map<string, KeptSplit>>();
/** The last SplitFacts read per store, with and without scaffolds: another split of the dataset reads nothing more. */
const keptFacts = new WeakMap<Store, { key: string; withScaffolds: Map<boolean, SplitFacts> }>();

/**
 * What `split` holds out of a dataset, kept per store for the next pages and previews of it. Read
 * from the environments' facts and stored counts (Datasets.splitFacts) and chosen by training's own
 * function (splitOfEnvironments), so no sample is read but for a metadata split. A stored dataset's
 * environments never change; its content hash (which an attached sample table changes) is in the key.
 */
function splitOf(store: Store, datasetId: string, split: ValidationSplit): KeptSplit {
  const kept = keptSplits.get(store) ?? new Map<string, KeptSplit>();
  keptSplits.set(store, kept);
  const contentHash = store.db.prepare('SELECT content_hash FROM datasets WHERE id = ?').pluck().get(datasetId) as string | undefined;
  if (contentHash === undefined) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
  const key = JSON.stringify([datasetId, contentHash, split]);
  const hit = kept.get(key);
  if (hit) {
    kept.delete(key);
    kept.set(key, hit);
    return hit;
  }
  const scaffolds = split.kind === 'scaffold';
  // Of one dataset at a time: a view previews the splits of the dataset it shows.
  const factsKey = JSON.stringify([datasetId, contentHash]);
  let factsOf = keptFacts.get(store);
  if (factsOf?.key !== factsKey) {
    factsOf = { key: factsKey, withScaffolds: new Map() };
    keptFacts.set(store, factsOf);
  }
  let facts = factsOf.withScaffolds.get(scaffolds);
  if (!facts) {
    facts = store.datasets.splitFacts(datasetId, { scaffolds });
    factsOf.withScaffolds.set(scaffolds, facts);
  }
  const environments = facts.environments;
  const result: KeptSplit = {
    ...splitOfEnvironments(facts, split, () => {
      const view = store.datasets.environmentView(datasetId, { representations: false });
      return { environmentIndex: view.environmentIndex, sampleColumn: (column) => store.datasets.sampleColumn(datasetId, column) };
    }),
    environmentIds: environments.map((e) => e.id),
  };
  kept.set(key, result);
  if (kept.size > KEPT_SPLITS) kept.delete(kept.keys().next().value as string);
  return result;
}

function placesById(split: KeptSplit): Map<string, EnvironmentPlace> {
  split.placeById ??= new Map(split.environmentIds.map((id, i) => [id, SPLIT_PLACES[split.places[i] as number] as EnvironmentPlace]));
  return split.placeById;
}

export const datasetReads = {
  /**
   * Reads every sample's environment (hundreds of thousands of rows at LINCS size): seconds that
   * stalled the serving thread when it ran there.
   */
  /** A split's totals and first held-out groups (splits.preview): what the split picker shows. */
  async splitPreview(
    context: DatasetReadContext,
    { datasetId, split }: { datasetId: string; split: ValidationSplit },
  ): Promise<SplitPreview> {
    const kept = splitOf(context.store, datasetId, split);
    let heldOut = 0;
    let partlyHeldOut = 0;
    for (const place of kept.places) {
      if (place === PLACE_ALL) heldOut++;
      else if (place === PLACE_SOME) partlyHeldOut++;
    }
    return {
      split,
      trainSamples: kept.trainSamples,
      heldOutSamples: kept.heldOutSamples,
      environments: { total: kept.places.length, heldOut, partlyHeldOut },
      heldOutGroups: kept.heldOutGroups.slice(0, SPLIT_PREVIEW_GROUPS),
      heldOutGroupCount: kept.heldOutGroups.length,
      note: kept.note,
    };
  },

  /** Every environment's place under a split, packed (splits.assignment: scripts and the CLI). */
  async splitAssignment(
    context: DatasetReadContext,
    { datasetId, split }: { datasetId: string; split: ValidationSplit },
  ): Promise<SplitAssignment> {
    const kept = splitOf(context.store, datasetId, split);
    return {
      datasetId,
      split,
      trainSamples: kept.trainSamples,
      heldOutSamples: kept.heldOutSamples,
      environmentIds: encodePackedStrings(kept.environmentIds),
      places: Buffer.from(kept.places.buffer, kept.places.byteOffset, kept.places.byteLength).toString('base64'),
      heldOutGroups: kept.heldOutGroups,
      note: kept.note,
    };
  },

  /** Counts every environment's samples and cell lines: a scan of the samples, so off the serving thread. */
  async environments(context: DatasetReadContext, { datasetId }: { datasetId: string }): Promise<EnvironmentSummary[]> {
    return context.store.datasets.environments(datasetId);
  },

  /** One page of the environments a search keeps, sorted, with each one's place under the split when one is given. */
  async environmentsPage(context: DatasetReadContext, { datasetId, split, ...query }: EnvironmentPageRequest): Promise<EnvironmentPage> {
    const { datasets } = context.store;
    if (!datasets.exists(datasetId)) throw new LabError('not_found', `No dataset with id "${datasetId}"`);
    let places: Map<string, EnvironmentPlace> | null = null;
    if (split) {
      try {
        places = placesById(splitOf(context.store, datasetId, split));
      } catch (error) {
        // A split this dataset cannot take (splits.preview says why, and the view shows it): the
        // rows still list, without places; only an order by place needs them.
        if (!(error instanceof LabError && error.code === 'bad_input') || query.sort.key === 'split') throw error;
      }
    }
    return datasets.environmentsPage(datasetId, query, places);
  },

  async environmentFacets(context: DatasetReadContext, { datasetId }: { datasetId: string }): Promise<EnvironmentFacets> {
    return context.store.datasets.environmentFacets(datasetId);
  },

  /** Every environment's representation vector: 40k × 1,024 values for a LINCS import. */
  async representations(context: DatasetReadContext, { datasetId }: { datasetId: string }): Promise<EnvironmentRepresentations> {
    return context.store.datasets.representations(datasetId);
  },

  /** One value per sample, as a JSON array (scripts, the other views); the Latents view asks for sampleColumns. */
  async sampleColumn(
    context: DatasetReadContext,
    { datasetId, column }: { datasetId: string; column: string },
  ): Promise<SampleColumnResult> {
    return { column, values: columnValues(context.store, datasetId, column) };
  },

  /** Several columns of every sample, dictionary-encoded in one answer. */
  async sampleColumns(context: DatasetReadContext, { datasetId, columns }: SampleColumnsParams): Promise<SampleColumnsResult> {
    const nSamples = context.store.datasets.get(datasetId).nSamples;
    const coded = columns.map((column) => {
      context.signal.throwIfAborted();
      return encodeCodedColumn(column, columnValues(context.store, datasetId, column));
    });
    return { datasetId, nSamples, columns: coded };
  },

  /** The ids of the samples at given positions, in that order and packed: a projection's points, for tooltips. */
  async idsOfSamples(context: DatasetReadContext, { datasetId, sampleIndices }: SampleIdsAtParams): Promise<SampleIdsAtResult> {
    let positions: Int32Array;
    try {
      positions = decodeSampleIndices(sampleIndices);
    } catch (error) {
      throw new LabError('bad_input', error instanceof Error ? error.message : String(error));
    }
    return { datasetId, ids: encodePackedStrings(context.store.datasets.sampleIdsAtPositions(datasetId, positions)) };
  },

  /** Every saved selection of a dataset, its samples as packed indices (selections.list). */
  async selections(context: DatasetReadContext, { datasetId }: { datasetId: string }): Promise<Selection[]> {
    return selectionsWithIndices(context.store, datasetId, context.store.sessions.storedSelections(datasetId));
  },

  /** One saved selection, its samples as packed indices (selections.save's answer to ids or a rename). */
  async selection(context: DatasetReadContext, { id }: { id: string }): Promise<Selection> {
    const stored = context.store.sessions.storedSelection(id);
    return selectionsWithIndices(context.store, stored.selection.datasetId, [stored])[0] as Selection;
  },
} satisfies Record<string, (context: DatasetReadContext, params: never) => Promise<unknown>>;

export type DatasetReads = typeof datasetReads;
export type DatasetReadName = keyof DatasetReads;

export function isDatasetRead(name: string): name is DatasetReadName {
  return Object.hasOwn(datasetReads, name);
}
