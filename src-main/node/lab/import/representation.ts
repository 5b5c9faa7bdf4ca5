// How an environment becomes the vector e the models receive: the drug's Morgan fingerprint,
// a one-hot fallback for drugs without a usable structure (visible to the user, never silent),
// and — when the environment key includes them — the cell line, dose and time.
import type { EnvironmentKey, FingerprintOptions } from '../../../shared/api/imports.js';
import { cellColumn, DOSE_COLUMN, fingerprintColumn, noStructureColumn, TIME_COLUMN } from '../../data/representation-columns.js';
import type { PlannedEnvironment } from './plan.js';

export type StructureInfo =
  | { ok: true; canonicalSmiles: string; inchiKey: string | null; fingerprint: Uint8Array; scaffoldSmiles: string | null }
  | { ok: false; reason: string };

export interface StructureSource {
  describe(smiles: string, options: FingerprintOptions): StructureInfo | Promise<StructureInfo>;
  /** Optionally describes many structures at once (in parallel) before describe() asks for each. */
  prefetch?(smiles: readonly string[], options: FingerprintOptions): Promise<void>;
  /** Which chemistry engine describes them (progress messages say it). */
  readonly engineLabel?: string;
}

export interface EnvironmentEncoding {
  columns: string[];
  vectors: Float32Array[];
  /** Drugs kept with the one-hot fallback, and why. */
  withoutStructure: { drug: string; reason: string }[];
  structures: Map<string, StructureInfo>;
}

/** "10 uM", "10.0 µM", "500 nM", "1 mM" → micromolar; null when unparseable. */
export function doseInMicromolar(dose: string | null): number | null {
  if (!dose) return null;
  const match = /^\s*([0-9.eE+-]+)\s*([a-zA-Zµμ]*)\s*$/.exec(dose);
  if (!match) return null;
  const value = Number(match[1]);
  if (!Number.isFinite(value)) return null;
  const unit = (match[2] ?? '').toLowerCase().replace('μ', 'µ');
  const scale: Record<string, number> = { um: 1, µm: 1, nm: 1e-3, mm: 1e3, pm: 1e-6, m: 1e6, '': 1 };
  const factor = scale[unit];
  return factor === undefined ? null : value * factor;
}

/** "24 h", "6 h", "96 h", "2 d" → hours. */
export function timeInHours(time: string | null): number | null {
  if (!time) return null;
  const match = /^\s*([0-9.]+)\s*(h|hr|hrs|hours?|d|days?|m|min)?\s*$/i.exec(time);
  if (!match) return null;
  const value = Number(match[1]);
  const unit = (match[2] ?? 'h').toLowerCase();
  return unit.startsWith('d') ? value * 24 : unit.startsWith('m') ? value / 60 : value;
}

export async function encodeEnvironments(
  environments: readonly PlannedEnvironment[],
  key: EnvironmentKey,
  options: FingerprintOptions,
  structures: StructureSource | null,
): Promise<EnvironmentEncoding> {
  const described = new Map<string, StructureInfo>();
  const withoutStructure: { drug: string; reason: string }[] = [];
  const fallbackIndex = new Map<string, number>();
  await structures?.prefetch?.(
    environments.flatMap((env) => (!env.isControl && env.drugId !== null && env.smiles ? [env.smiles] : [])),
    options,
  );
  for (const [index, env] of environments.entries()) {
    // Thousands of drugs take seconds to describe: yield now and then so the app stays responsive.
    if (index % 25 === 24) await new Promise((resolve) => setImmediate(resolve));
    if (env.isControl || env.drugId === null || described.has(env.drugId)) continue;
    let info: StructureInfo;
    if (!env.smiles) info = { ok: false, reason: 'no SMILES (not in the compound table given, the matrix file, or the compound library)' };
    else if (!structures) info = { ok: false, reason: 'chemistry engine unavailable' };
    else info = await structures.describe(env.smiles, options);
    described.set(env.drugId, info);
    if (!info.ok) {
      withoutStructure.push({ drug: env.drugName ? `${env.drugName} (${env.drugId})` : env.drugId, reason: info.reason });
      fallbackIndex.set(env.drugId, fallbackIndex.size);
    }
  }
  const cells = key === 'drug' ? [] : [...new Set(environments.map((e) => e.cellLine ?? '?'))].sort();
  const withDoseTime = key === 'drug+cell+dose+time';
  const columns = [
    ...Array.from({ length: options.nBits }, (_, i) => fingerprintColumn(i)),
    ...[...fallbackIndex.keys()].map(noStructureColumn),
    ...cells.map(cellColumn),
    ...(withDoseTime ? [DOSE_COLUMN, TIME_COLUMN] : []),
  ];
  const vectors = environments.map((env) => {
    const v = new Float32Array(columns.length);
    const info = env.drugId ? described.get(env.drugId) : undefined;
    if (info?.ok) for (let b = 0; b < options.nBits; b++) v[b] = info.fingerprint[b] ? 1 : 0;
    const fallback = env.drugId ? fallbackIndex.get(env.drugId) : undefined;
    if (fallback !== undefined) v[options.nBits + fallback] = 1;
    let offset = options.nBits + fallbackIndex.size;
    if (cells.length > 0) v[offset + cells.indexOf(env.cellLine ?? '?')] = 1;
    offset += cells.length;
    if (withDoseTime && !env.isControl) {
      const dose = doseInMicromolar(env.dose);
      const hours = timeInHours(env.time);
      v[offset] = dose !== null && dose > 0 ? Math.log10(dose) : 0;
      v[offset + 1] = hours !== null ? hours / 24 : 0;
    }
    return v;
  });
  return { columns, vectors, withoutStructure, structures: described };
}
