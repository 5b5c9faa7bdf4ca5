// Summaries of sample metadata columns (kind, distinct values, missing count, examples),
// accumulated while samples stream in so an import never has to hold them all.
import type { MetadataColumn } from '../../shared/api/domain.js';

export type MetadataValue = string | number | boolean | null;
export type SampleMetadata = Record<string, MetadataValue>;

/** L1000 writes -666 (or "-666") for missing values; empty strings mean the same. */
export function isMissing(value: MetadataValue | undefined): boolean {
  return value === null || value === undefined || value === '' || value === '-666' || value === -666;
}

// Enough to list and count a column's categories; columns with more distinct values are
// ids, not categories, and we stop tracking their values.
const MAX_TRACKED_DISTINCT = 10_000;

class ColumnProfile {
  missing = 0;
  numeric = true;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  counts = new Map<string, number>();
  overflow = false;

  add(value: MetadataValue | undefined): void {
    if (isMissing(value)) {
      this.missing++;
      return;
    }
    if (typeof value === 'number' && Number.isFinite(value)) {
      this.min = Math.min(this.min, value);
      this.max = Math.max(this.max, value);
    } else {
      this.numeric = false;
    }
    if (this.overflow) return;
    const key = String(value);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (this.counts.size > MAX_TRACKED_DISTINCT) this.overflow = true;
  }

  summarize(name: string): MetadataColumn {
    const distinct = this.overflow ? MAX_TRACKED_DISTINCT + 1 : this.counts.size;
    if (this.numeric && distinct > 0) {
      return { name, kind: 'numeric', distinct, missing: this.missing, examples: [String(this.min), String(this.max)] };
    }
    const examples = [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 5)
      .map(([value]) => value);
    return { name, kind: 'categorical', distinct, missing: this.missing, examples };
  }
}

export class MetadataProfiler {
  readonly #columns = new Map<string, ColumnProfile>();
  #rows = 0;

  add(metadata: SampleMetadata): void {
    for (const name of Object.keys(metadata)) {
      if (!this.#columns.has(name)) {
        // A column first seen late was missing in every earlier row.
        const profile = new ColumnProfile();
        profile.missing = this.#rows;
        this.#columns.set(name, profile);
      }
    }
    for (const [name, profile] of this.#columns) profile.add(metadata[name]);
    this.#rows++;
  }

  summarize(): MetadataColumn[] {
    return [...this.#columns].map(([name, profile]) => profile.summarize(name));
  }
}
