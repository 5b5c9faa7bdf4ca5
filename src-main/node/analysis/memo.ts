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
