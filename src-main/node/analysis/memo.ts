/**
 * A value computed once per owner object and key, forgotten with its owner: the analysis worker keeps
 * models and problems cached, and what is derived from them must not outlive them.
 */
export class MemoPerOwner<Owner extends object, Key, Value> {
  readonly #byOwner = new WeakMap<Owner, Map<Key, Value>>();

  get(owner: Owner, key: Key, make: () => Value): Value {
    let byKey = this.#byOwner.get(owner);
    if (!byKey) {
      byKey = new Map();
      this.#byOwner.set(owner, byKey);
    }
    if (byKey.has(key)) return byKey.get(key) as Value;
    const value = make();
    byKey.set(key, value);
    return value;
  }
}

/**
 * Values kept up to a budget in bytes, least recently used dropped first: what a cached model
 * derives from its whole dataset (environment means, posterior means) is hundreds of megabytes at
 * LINCS size. A value larger than the whole budget is not kept.
 */
export class BoundedCache<Value> {
  readonly budget: number;
  readonly #entries = new Map<string, { value: Value; bytes: number }>();
  #bytes = 0;

  constructor(budget: number) {
    this.budget = budget;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get(key: string): Value | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key); // re-insert: most recently used last
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** The first kept value (most recently used first) that `accept` takes, marked as used. */
  find(accept: (value: Value, key: string) => boolean): Value | undefined {
    for (const [key, entry] of [...this.#entries].reverse()) if (accept(entry.value, key)) return this.get(key);
    return undefined;
  }

  set(key: string, value: Value, bytes: number): void {
    this.delete(key);
    if (bytes > this.budget) return;
    this.#entries.set(key, { value, bytes });
    this.#bytes += bytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.budget) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
    }
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}
