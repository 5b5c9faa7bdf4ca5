// The Environments view's table, a page at a time: a LINCS import has ~50k environments, so the
// lab searches and sorts them (environments.page) and the view lays out only the rows in sight.
// Pages are fetched as they scroll into view and dropped whenever the query, order or split changes.
import type { LabClient } from '../../../../src-main/shared/api/client.js';
import {
  type DrugStructureCounts,
  ENVIRONMENT_PAGE_LIMIT,
  type EnvironmentRow,
  type EnvironmentSortKey,
} from '../../../../src-main/shared/api/environments.js';
import type { ValidationSplit } from '../../../../src-main/shared/api/training.js';

/** Rows fetched per call while scrolling: a screenful or a few, small enough to arrive at once. */
const PAGE_ROWS = 200;

export interface EnvironmentTableQuery {
  datasetId: string;
  query: string;
  sortKey: EnvironmentSortKey;
  descending: boolean;
  /** Absent: rows without their place under a split. */
  split?: ValidationSplit;
}

export class EnvironmentTable {
  total = $state(0);
  matched = $state(0);
  drugStructures = $state<DrugStructureCounts>({ parsed: 0, invalid: 0, missing: 0 });
  /** Whether a query has answered since a dataset was shown (so "0 of 0" is not shown while loading). */
  answered = $state(false);
  #pages = $state.raw(new Map<number, EnvironmentRow[]>());
  #asked = new Set<number>();
  /** Whether the pages held are an earlier query's, to be dropped when the first page arrives. */
  #replacing = false;
  #current: EnvironmentTableQuery | null = null;
  readonly #client: LabClient;
  readonly #report: (what: string, error: unknown) => void;

  constructor(client: LabClient, report: (what: string, error: unknown) => void) {
    this.#client = client;
    this.#report = report;
  }

  /**
   * Starts over for another dataset, search, order or split (null: no dataset). The rows shown
   * stay until the first page of the new answer replaces them, so the table never flashes empty.
   */
  show(query: EnvironmentTableQuery | null): void {
    this.#current = query;
    this.#asked = new Set();
    this.#replacing = true;
    if (query) {
      this.need(0, 1);
      return;
    }
    this.#pages = new Map();
    this.answered = false;
    this.total = this.matched = 0;
  }

  /** The row at a position of the sorted, searched list, once its page has arrived. */
  rowAt(index: number): EnvironmentRow | undefined {
    return this.#pages.get(Math.floor(index / PAGE_ROWS))?.[index % PAGE_ROWS];
  }

  /** Loaded rows only: the selected row's fresh copy (its place under a new split), when in sight. */
  loadedRow(id: string): EnvironmentRow | undefined {
    for (const rows of this.#pages.values()) {
      const row = rows.find((r) => r.id === id);
      if (row) return row;
    }
    return undefined;
  }

  /** Asks for the pages holding rows [first, end) that are neither here nor asked for. */
  need(first: number, end: number): void {
    const query = this.#current;
    if (!query) return;
    for (let page = Math.floor(first / PAGE_ROWS); page * PAGE_ROWS < Math.max(end, 1); page++) {
      if (this.#asked.has(page)) continue;
      this.#asked.add(page);
      void this.#fetch(query, page);
    }
  }

  async #fetch(query: EnvironmentTableQuery, page: number): Promise<void> {
    try {
      const answer = await this.#client.call('environments.page', paramsOf(query, page * PAGE_ROWS, PAGE_ROWS));
      if (query !== this.#current) return;
      this.total = answer.total;
      this.matched = answer.matched;
      if (answer.drugStructures) this.drugStructures = answer.drugStructures;
      this.answered = true;
      this.#pages = new Map(this.#replacing ? [] : this.#pages).set(page, answer.rows);
      this.#replacing = false;
    } catch (error) {
      if (query !== this.#current) return;
      this.#asked.delete(page);
      this.#report('Could not load environments', error);
    }
  }

  /** Every row the search keeps, in order, fetched in the largest pages the lab serves (the CSV export). */
  async allMatched(): Promise<EnvironmentRow[]> {
    const query = this.#current;
    if (!query) return [];
    const rows: EnvironmentRow[] = [];
    for (;;) {
      const answer = await this.#client.call('environments.page', paramsOf(query, rows.length, ENVIRONMENT_PAGE_LIMIT));
      rows.push(...answer.rows);
      if (answer.rows.length === 0 || rows.length >= answer.matched) return rows;
    }
  }
}

function paramsOf(q: EnvironmentTableQuery, offset: number, limit: number) {
  const { datasetId, query, sortKey, descending, split } = q;
  return { datasetId, query, sort: { key: sortKey, descending }, ...(split ? { split } : {}), offset, limit };
}
