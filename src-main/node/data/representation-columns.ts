// The names of an environment representation's coordinates, shared by the importer that writes
// them and by training, analysis and studies that read them back from a stored dataset.

const FINGERPRINT_PREFIX = 'morgan bit ';
const NO_STRUCTURE_PREFIX = 'no-structure drug ';
/** Coordinates of the representations rebuilt from SMILES (data/drug-features.ts): "morgan r2 bit 5", "descriptor tpsa". */
const REBUILT_MORGAN_PREFIX = /^morgan r\d+ bit /;
const DESCRIPTOR_PREFIX = 'descriptor ';
const CELL_PREFIX = 'cell ';
const BASAL_PREFIX = 'basal ';

export const fingerprintColumn = (bit: number): string => `${FINGERPRINT_PREFIX}${bit}`;
export const noStructureColumn = (drug: string): string => `${NO_STRUCTURE_PREFIX}${drug}`;
/** One coordinate of the cell line's one-hot code ("cell A375"). */
export const cellColumn = (cellLine: string): string => `${CELL_PREFIX}${cellLine}`;
/** One gene of the cell line's basal profile, in place of its one-hot code (training's cellContext "basal"). */
export const basalColumn = (gene: string): string => `${BASAL_PREFIX}${gene}`;

/** The cell line a one-hot coordinate names, or null for any other coordinate. */
export function cellLineOfColumn(name: string): string | null {
  return name.startsWith(CELL_PREFIX) ? name.slice(CELL_PREFIX.length) : null;
}

export function isFingerprintColumn(name: string): boolean {
  return name.startsWith(FINGERPRINT_PREFIX);
}

/** How many fingerprint bits a representation's columns hold. */
export function fingerprintBitCount(columns: readonly string[]): number {
  return columns.filter(isFingerprintColumn).length;
}

/**
 * Whether a representation coordinate describes the drug itself (its fingerprint bits, or the
 * one-hot of a drug without structure) rather than its context (cell line, dose, time): the part
 * the structure controls permute or remove.
 */
export function isDrugColumn(name: string): boolean {
  return isFingerprintColumn(name) || name.startsWith(NO_STRUCTURE_PREFIX) || isRebuiltDrugColumn(name);
}

/** A coordinate of a representation rebuilt from SMILES (replaces the imported fingerprint bits in training). */
export function isRebuiltDrugColumn(name: string): boolean {
  return REBUILT_MORGAN_PREFIX.test(name) || isDescriptorColumn(name);
}

/** An RDKit descriptor: on its own scale, so training standardises it. */
export function isDescriptorColumn(name: string): boolean {
  return name.startsWith(DESCRIPTOR_PREFIX);
}

/** The coordinates of dose and time, when the environment key includes them. */
export const DOSE_COLUMN = 'log10 dose (µM)';
export const TIME_COLUMN = 'time (days)';

/** The coordinate holding log10 dose (µM), when the environment key includes the dose. */
export function isDoseColumn(name: string): boolean {
  return name.startsWith('log10 dose');
}
