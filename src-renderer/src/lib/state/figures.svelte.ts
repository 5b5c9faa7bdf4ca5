// The figures on screen that can be exported, so a shortcut can export "the current one": the
// figure last pointed at or focused, else the first one visible in the window.
import type { FigureFormat } from '../export/figure.js';

export interface RegisteredFigure {
  element: HTMLElement;
  /** Opens the figure's export menu. */
  openExport(): void;
}

export interface ExportPreferences {
  format: FigureFormat;
  dpi: number;
  caption: boolean;
}

export class FiguresState {
  /** The last choices in any export menu, offered again in the next (for this window). */
  prefs = $state<ExportPreferences>({ format: 'png', dpi: 300, caption: false });
  readonly #figures = new Set<RegisteredFigure>();
  #active: RegisteredFigure | null = null;

  register(figure: RegisteredFigure): () => void {
    this.#figures.add(figure);
    const activate = () => {
      this.#active = figure;
    };
    figure.element.addEventListener('pointerenter', activate);
    figure.element.addEventListener('focusin', activate);
    return () => {
      figure.element.removeEventListener('pointerenter', activate);
      figure.element.removeEventListener('focusin', activate);
      this.#figures.delete(figure);
      if (this.#active === figure) this.#active = null;
    };
  }

  current(): RegisteredFigure | null {
    if (this.#active?.element.isConnected) return this.#active;
    const visible = [...this.#figures].filter((f) => {
      const box = f.element.getBoundingClientRect();
      return box.width > 0 && box.bottom > 0 && box.top < window.innerHeight;
    });
    // Document order, so "first" means what the eye meets first.
    visible.sort((a, b) => (a.element.compareDocumentPosition(b.element) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
    return visible[0] ?? null;
  }

  /** Opens the current figure's export menu; false when there is no figure on screen. */
  exportCurrent(): boolean {
    const figure = this.current();
    figure?.openExport();
    return figure !== null;
  }
}
