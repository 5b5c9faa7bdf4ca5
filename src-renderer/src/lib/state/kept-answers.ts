// Answers of the lab kept while the window lives, by key, the most recently used last and at most
// `limit` of them: a view that comes back (or a run or dataset switched back to) draws from here at
// once instead of asking again. A failed answer is forgotten, so the next use asks again.

export class KeptAnswers<T> {
  readonly #limit: number;
  readonly #asked = new Map<string, Promise<T>>();
  readonly #settled = new Map<string, T>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The kept answer for `key`, or `ask()`'s (kept from now on). */
  get(key: string, ask: () => Promise<T>): Promise<T> {
    let answer = this.#asked.get(key);
    if (answer) {
      this.#touch(key, answer);
      return answer;
    }
    answer = ask();
    const asked = answer;
    asked.then(
      (value) => {
        if (this.#asked.get(key) === asked) this.#settled.set(key, value);
      },
      () => {
        if (this.#asked.get(key) === asked) this.forget(key);
      },
    );
    this.#touch(key, asked);
    return asked;
  }

  /** The answer for `key` if it has arrived: what a view draws in its first frame when it comes back. */
  now(key: string): T | null {
    return this.#settled.get(key) ?? null;
  }

  forget(key: string): void {
    this.#asked.delete(key);
    this.#settled.delete(key);
  }

  #touch(key: string, answer: Promise<T>): void {
    this.#asked.delete(key);
    this.#asked.set(key, answer);
    while (this.#asked.size > this.#limit) this.forget(this.#asked.keys().next().value as string);
  }
}
