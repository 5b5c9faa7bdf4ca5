// An import preview for a person: what survives, in tables with counts, and why the rest was left
// out. `--json` prints the preview object itself, for scripts.
import type { CompoundImportResult, ImportPreview } from '../../../shared/api/imports.js';

const MAX_ROWS = 12;

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** Two aligned columns, at most MAX_ROWS rows (the rest summed in one line). */
function table(title: string, rows: readonly [string, number][], unit = 'samples'): string[] {
  if (rows.length === 0) return [];
  const shown = rows.slice(0, MAX_ROWS);
  const width = Math.max(...shown.map(([label]) => label.length), 8);
  const lines = [`${title}:`, ...shown.map(([label, n]) => `  ${label.padEnd(width)}  ${count(n).padStart(9)} ${unit}`)];
  const rest = rows.slice(MAX_ROWS);
  if (rest.length > 0) lines.push(`  … ${rest.length} more (${count(rest.reduce((sum, [, n]) => sum + n, 0))} ${unit})`);
  return lines;
}

function countedTable(title: string, values: ImportPreview['cellLines']): string[] {
  return table(
    title,
    values.map((c) => [c.value, c.samples]),
  );
}

export function formatPreview(p: ImportPreview): string {
  const lines = [
    `Format ${p.format}: ${count(p.samplesInFile)} samples × ${count(p.genesInFile)} genes in the file.`,
    `Would import ${count(p.samples)} samples × ${count(p.genes)} genes into ${count(p.environments)} environments ` +
      `(${count(p.drugs)} drugs, ${count(p.controlSamples)} control samples).`,
    '',
    ...countedTable('Cell lines', p.cellLines),
    ...countedTable('Doses (treatments)', p.doses),
    ...countedTable('Times', p.times),
    ...countedTable('Perturbation types', p.pertTypes),
    ...table(
      'Drug structures from',
      p.structureSources.map((s) => [s.source, s.drugs]),
      'drugs',
    ),
  ];
  if (p.drugsWithoutStructure.length > 0) {
    lines.push(`Drugs without a usable structure (kept, with a one-hot representation): ${p.drugsWithoutStructure.length}`);
    for (const d of p.drugsWithoutStructure.slice(0, MAX_ROWS)) lines.push(`  ${d.drug}: ${d.reason}`);
    if (p.drugsWithoutStructure.length > MAX_ROWS) lines.push(`  … ${p.drugsWithoutStructure.length - MAX_ROWS} more`);
  }
  lines.push(
    ...table(
      'Left out',
      p.dropped.map((d) => [d.reason, d.samples]),
    ),
  );
  if (p.warnings.length > 0) lines.push('Warnings:', ...p.warnings.map((w) => `  ! ${w}`));
  lines.push('', 'Nothing was written. Run the same command without --preview to import.');
  return `${lines.filter((line, i, all) => !(line === '' && all[i - 1] === '')).join('\n')}\n`;
}

export function describeCompoundImport(r: CompoundImportResult): string {
  return (
    `Compound library: ${count(r.compounds)} compounds from ${r.source} (${count(r.withStructure)} with a structure, ` +
    `${count(r.withTargets)} with targets): ${count(r.added)} new, ${count(r.updated)} updated; ${count(r.libraryTotal)} in the library.`
  );
}
