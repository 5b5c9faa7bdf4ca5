// A view's state kept in the lab (sessions.get / sessions.save): read once, then saved a moment
// after each change, so the next start shows the same thing. State this version cannot read is
// ignored rather than half-applied. Views extend it with their own schema and defaults.
import type { z } from 'zod';
import type { LabClient } from '../../../../src-main/shared/api/client.js';
import type { LabState } from './lab.svelte.js';

const SAVE_DELAY_MS = 400;

export class SavedView<S extends z.ZodType<Record<string, unknown>>> {
  protected readonly client: LabClient;
  protected readonly lab: LabState;
  readonly #view: string;
  readonly #schema: S;
  loaded = $state(false);
  state = $state<z.infer<S>>() as z.infer<S>;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #pending: string | null = null;
  #lastSaved: string | null = null;

  constructor(client: LabClient, lab: LabState, view: string, schema: S) {
    this.client = client;
    this.lab = lab;
    this.#view = view;
    this.#schema = schema;
    this.state = schema.parse({});
  }

  async load(): Promise<void> {
    const stored = await this.lab.attempt(`Could not restore the ${this.#view} view`, () =>
      this.client.call('sessions.get', { view: this.#view }),
    );
    const parsed = this.#schema.safeParse(stored?.state ?? {});
    this.state = parsed.success ? parsed.data : this.#schema.parse({});
    this.#lastSaved = JSON.stringify(this.state);
    this.loaded = true;
  }

  /** Schedules a save of the current state (called from an effect that reads all of it). */
  scheduleSave(snapshot: z.infer<S>): void {
    if (!this.loaded) return;
    const text = JSON.stringify(snapshot);
    if (text === this.#lastSaved) return;
    this.#pending = text;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.flush(), SAVE_DELAY_MS);
  }

  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const text = this.#pending;
    if (text === null) return;
    this.#pending = null;
    await this.lab.attempt(`Could not save the ${this.#view} view state`, async () => {
      await this.client.call('sessions.save', { view: this.#view, state: JSON.parse(text) });
      this.#lastSaved = text;
    });
  }
}
