// The Query view's gene lists, kept outside the view so another view (a DE result under Latents)
// can fill them before navigating there, and so they survive switching views.
export interface QuerySource {
  /** Which comparison the lists came from, shown above them. */
  note: string;
  datasetId: string;
}

export class QueryState {
  up = $state('');
  down = $state('');
  source = $state<QuerySource | null>(null);

  /** Replaces both lists (one gene per line) and remembers where they came from. */
  fill(up: readonly string[], down: readonly string[], source: QuerySource): void {
    this.up = up.join('\n');
    this.down = down.join('\n');
    this.source = source;
  }

  /** The lists were edited or replaced by hand: they no longer are the named comparison. */
  forget(): void {
    this.source = null;
  }
}
