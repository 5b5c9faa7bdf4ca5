// Light or dark: the user's choice when made (remembered in localStorage), else the system's
// prefers-color-scheme, followed live. The choice is applied as <html data-theme>, which the
// CSS variables in app.css and the chart palettes key on.
import type { ThemeName } from '../chart-options.js';

const STORAGE_KEY = 'cellshift.theme';
const DARK_QUERY = '(prefers-color-scheme: dark)';

export function storedTheme(): ThemeName | null {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return value === 'light' || value === 'dark' ? value : null;
  } catch {
    return null; // storage disabled: follow the system
  }
}

export function systemTheme(): ThemeName {
  return window.matchMedia?.(DARK_QUERY).matches ? 'dark' : 'light';
}

/** Sets the theme on <html> before the app mounts, so the first paint is already right. */
export function applyTheme(theme: ThemeName): void {
  document.documentElement.dataset.theme = theme;
}

export class ThemeState {
  choice = $state<ThemeName | null>(storedTheme());
  system = $state<ThemeName>(systemTheme());
  readonly current = $derived<ThemeName>(this.choice ?? this.system);

  /** Follows system changes; returns the cleanup. */
  start(): () => void {
    const query = window.matchMedia?.(DARK_QUERY);
    const onChange = () => {
      this.system = query?.matches ? 'dark' : 'light';
    };
    query?.addEventListener('change', onChange);
    return () => query?.removeEventListener('change', onChange);
  }

  set(theme: ThemeName): void {
    this.choice = theme;
    try {
      localStorage.setItem(STORAGE_KEY, theme);
    } catch {
      // storage disabled: the choice lasts for this window only
    }
  }

  toggle(): void {
    this.set(this.current === 'dark' ? 'light' : 'dark');
  }
}
