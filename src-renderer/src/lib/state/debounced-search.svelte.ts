// A search box's text as sent to the lab: once typing pauses, so a search over ~50k environments
// is asked once per pause rather than per keystroke; clearing the box answers at once.
// Construct it while a component initialises (it owns an effect).
const SEARCH_DELAY_MS = 200;

export class DebouncedSearch {
  text = $state('');
  /** The trimmed text after the pause. */
  settled = $state('');

  constructor() {
    $effect(() => {
      const text = this.text.trim();
      if (text === '') {
        this.settled = '';
        return;
      }
      const timer = setTimeout(() => (this.settled = text), SEARCH_DELAY_MS);
      return () => clearTimeout(timer);
    });
  }
}
