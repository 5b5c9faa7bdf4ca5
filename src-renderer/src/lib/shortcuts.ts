// Every keyboard shortcut of the app, in one table: App.svelte dispatches from it and the help
// overlay (?) lists it, so the two cannot disagree.
import { views } from './state/router.svelte.js';

export type ShortcutId = `view:${(typeof views)[number]['id']}` | 'export-figure' | 'toggle-theme' | 'help';

export interface Shortcut {
  id: ShortcutId;
  /** As shown to people. */
  keys: string;
  description: string;
  matches(event: KeyboardEvent): boolean;
  /** Whether it also fires while typing in a field (only chords with Ctrl/⌘ or Alt do). */
  whileTyping: boolean;
}

const command = (event: KeyboardEvent) => event.ctrlKey || event.metaKey;

export const shortcuts: Shortcut[] = [
  ...views.map(
    (view, index): Shortcut => ({
      id: `view:${view.id}`,
      keys: `Alt+${index + 1}`,
      description: `Go to ${view.label}`,
      // event.code too: on macOS, Option+digit types a symbol, so event.key is not the digit.
      matches: (e) => e.altKey && !command(e) && (e.key === String(index + 1) || e.code === `Digit${index + 1}`),
      whileTyping: true,
    }),
  ),
  {
    id: 'export-figure',
    keys: 'Ctrl/⌘+E',
    description: 'Export the current figure (the one last pointed at)',
    matches: (e) => command(e) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'e',
    whileTyping: true,
  },
  {
    id: 'toggle-theme',
    keys: 'Ctrl/⌘+Shift+L',
    description: 'Switch between light and dark theme',
    matches: (e) => command(e) && e.shiftKey && !e.altKey && e.key.toLowerCase() === 'l',
    whileTyping: true,
  },
  {
    id: 'help',
    keys: '?',
    description: 'Show these shortcuts',
    matches: (e) => e.key === '?' && !command(e) && !e.altKey,
    whileTyping: false,
  },
];

export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

export function findShortcut(event: KeyboardEvent): Shortcut | undefined {
  const typing = isTyping(event.target);
  return shortcuts.find((s) => (s.whileTyping || !typing) && s.matches(event));
}
