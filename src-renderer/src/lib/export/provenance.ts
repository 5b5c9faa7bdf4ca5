// Where a figure or table came from, in one place for every export: which run (model family,
// seed, backend), which dataset (name and content hash), which app version, when. Each file
// format carries the same entries in its own metadata slot; a caption can show them too.
// Pure (no DOM), so the unit tests check it directly.

export interface ProvenanceRun {
  id: string;
  name: string;
  model: string;
  seed: number | null;
  backend: string | null;
  datasetId: string;
}

export interface ProvenanceDataset {
  id: string;
  name: string;
  contentHash: string;
}

export interface ProvenanceInput {
  title: string;
  app: { name: string; version: string } | null;
  runs: ProvenanceRun[];
  datasets: ProvenanceDataset[];
  /** Facts particular to this figure or table, e.g. the checkpoint epoch it shows. */
  extra?: Record<string, string | number | null | undefined>;
  exportedAt: Date;
}

/** Ordered key/value pairs; keys are snake_case so they read the same in every format. */
export interface Provenance {
  title: string;
  entries: [string, string][];
}

const UNKNOWN = 'unknown';

export function buildProvenance(input: ProvenanceInput): Provenance {
  const entries: [string, string][] = [['title', input.title]];
  const runs = input.runs;
  if (runs.length > 0) {
    // Several runs (a comparison, a study) list their facts in the same order as their ids.
    const list = (pick: (run: ProvenanceRun) => string) => runs.map(pick).join(', ');
    entries.push(
      ['run_id', list((r) => r.id)],
      ['run_name', list((r) => r.name)],
      ['model_family', list((r) => r.model)],
      ['seed', list((r) => (r.seed === null ? UNKNOWN : String(r.seed)))],
      ['backend', list((r) => r.backend ?? UNKNOWN)],
    );
  }
  // Datasets named by the runs come first, then any the caller added (tables of a dataset).
  const datasetIds = [...new Set([...runs.map((r) => r.datasetId), ...input.datasets.map((d) => d.id)])];
  if (datasetIds.length > 0) {
    const find = (id: string) => input.datasets.find((d) => d.id === id);
    entries.push(
      ['dataset', datasetIds.map((id) => find(id)?.name ?? UNKNOWN).join(', ')],
      ['dataset_id', datasetIds.join(', ')],
      ['dataset_content_hash', datasetIds.map((id) => find(id)?.contentHash ?? UNKNOWN).join(', ')],
    );
  }
  for (const [key, value] of Object.entries(input.extra ?? {})) {
    if (value !== null && value !== undefined && value !== '') entries.push([key, String(value)]);
  }
  entries.push(
    ['app', input.app?.name ?? 'CellShift'],
    ['app_version', input.app?.version ?? UNKNOWN],
    ['exported_at', input.exportedAt.toISOString()],
  );
  return { title: input.title, entries: entries.map(([k, v]) => [k, oneLine(v)]) };
}

export function provenanceValue(p: Provenance, key: string): string | undefined {
  return p.entries.find(([k]) => k === key)?.[1];
}

/** `key: value` lines: the SVG <desc>, the PNG Description, the PDF's keywords source. */
export function provenanceText(p: Provenance): string {
  return p.entries.map(([k, v]) => `${k}: ${v}`).join('\n');
}

/** Leading comment lines of a CSV (pandas reads them with comment='#', R with comment.char). */
export function csvCommentLines(p: Provenance): string[] {
  return p.entries.map(([k, v]) => `# ${k}: ${v}`);
}

/** The visible caption under a figure: a few readable lines, the full hash included. */
export function captionLines(p: Provenance): string[] {
  const get = (key: string) => provenanceValue(p, key);
  const lines: string[] = [];
  if (get('run_id')) {
    lines.push(
      `Run ${get('run_id')} (${get('run_name')}) · model ${get('model_family')} · seed ${get('seed')} · backend ${get('backend')}`,
    );
  }
  if (get('dataset')) lines.push(`Dataset ${get('dataset')} · sha256 ${get('dataset_content_hash')}`);
  const standard = new Set([
    'title',
    'run_id',
    'run_name',
    'model_family',
    'seed',
    'backend',
    'dataset',
    'dataset_id',
    'dataset_content_hash',
    'app',
    'app_version',
    'exported_at',
  ]);
  const extra = p.entries.filter(([k]) => !standard.has(k)).map(([k, v]) => `${k.replaceAll('_', ' ')} ${v}`);
  if (extra.length > 0) lines.push(extra.join(' · '));
  lines.push(`${get('app')} ${get('app_version')} · exported ${get('exported_at')}`);
  return lines;
}

/** jsPDF document properties: Subject names the run and data, Keywords carry every entry. */
export function pdfProperties(p: Provenance): { title: string; subject: string; author: string; keywords: string; creator: string } {
  const get = (key: string) => provenanceValue(p, key);
  const subject = [
    get('run_id') ? `run ${get('run_id')} (${get('model_family')}, seed ${get('seed')}, backend ${get('backend')})` : null,
    get('dataset') ? `dataset ${get('dataset')} sha256 ${get('dataset_content_hash')}` : null,
  ]
    .filter(Boolean)
    .join('; ');
  return {
    title: p.title,
    subject: subject || p.title,
    author: `${get('app')} ${get('app_version')}`,
    keywords: p.entries.map(([k, v]) => `${k}=${v}`).join('; '),
    creator: `${get('app')} ${get('app_version')}`,
  };
}

/** PNG text chunks: the registered keywords (Title, Software, ...) plus one per entry. */
export function pngTextEntries(p: Provenance): [string, string][] {
  const get = (key: string) => provenanceValue(p, key) ?? '';
  return [
    ['Title', p.title],
    ['Software', `${get('app')} ${get('app_version')}`],
    ['Creation Time', get('exported_at')],
    ['Description', provenanceText(p)],
    ...p.entries.filter(([k]) => k !== 'title').map(([k, v]): [string, string] => [`cellshift.${k}`, v]),
  ];
}

/** A file name from the title (and run), safe on every file system. */
const GREEK: Record<string, string> = {
  α: 'alpha',
  β: 'beta',
  γ: 'gamma',
  δ: 'delta',
  Δ: 'delta',
  ε: 'epsilon',
  θ: 'theta',
  λ: 'lambda',
  μ: 'mu',
  π: 'pi',
  ρ: 'rho',
  σ: 'sigma',
  Σ: 'sigma',
  τ: 'tau',
  φ: 'phi',
  χ: 'chi',
  ψ: 'psi',
  ω: 'omega',
};

export function exportFileName(title: string, extension: string, runId?: string): string {
  const slug = (s: string) =>
    s
      .normalize('NFKD')
      .replace(/[α-ωΔΣ]/g, (c) => `-${GREEK[c] ?? ''}-`)
      .replace(/[^\w.-]+/g, '-')
      .replace(/-{2,}/g, '-')
      .replace(/^-+|-+$/g, '')
      .toLowerCase();
  const stem = [slug(title).slice(0, 80) || 'figure', runId ? slug(runId) : ''].filter(Boolean).join('-');
  return `${stem}.${extension}`;
}

function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').trim();
}
