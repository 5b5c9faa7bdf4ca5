// Which view is showing, kept in the URL hash so reload and back/forward work.
export const views = [
  { id: 'datasets', label: 'Datasets', hint: 'Import and browse expression data' },
  { id: 'environments', label: 'Environments', hint: 'Drugs and conditions, with their representations' },
  { id: 'train', label: 'Train', hint: 'Fit a model to a dataset' },
  { id: 'runs', label: 'Runs', hint: 'Training history' },
  { id: 'latents', label: 'Latents', hint: 'Which latent causes each environment moves' },
  { id: 'predict', label: 'Predict', hint: 'Response to an unseen drug' },
  { id: 'query', label: 'Query', hint: 'Which drugs mimic or reverse a gene list (connectivity)' },
] as const;

export type ViewId = (typeof views)[number]['id'];

export function isViewId(id: string): id is ViewId {
  return views.some((v) => v.id === id);
}

function viewFromHash(hash: string): ViewId {
  const id = hash.replace(/^#\/?/, '');
  return views.find((v) => v.id === id)?.id ?? 'datasets';
}

export class Router {
  current = $state<ViewId>(viewFromHash(window.location.hash));
  /** Whether the address named a view at start (then it wins over the remembered one). */
  readonly fromAddress = /^#\/[a-z]/.test(window.location.hash);

  /** Follows back/forward; returns the cleanup. */
  start(): () => void {
    const onHashChange = () => {
      this.current = viewFromHash(window.location.hash);
    };
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }

  go(id: ViewId): void {
    this.current = id;
    if (window.location.hash !== `#/${id}`) window.location.hash = `/${id}`;
  }
}
