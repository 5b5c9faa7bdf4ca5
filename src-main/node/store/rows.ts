// SQLite rows use snake_case columns; the contract uses camelCase fields. One mapping for every
// repository, typed so a renamed column or field fails to compile.

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/** The named columns of a row, as camelCase fields with the same values. */
export type CamelFields<Row, Column extends keyof Row & string> = { [K in Column as CamelCase<K>]: Row[K] };

function camelCase(column: string): string {
  return column.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** Copies the named columns (only those, in that order) to camelCase fields, values unchanged. */
export function camelFields<Row extends object, Column extends keyof Row & string>(
  row: Row,
  columns: readonly Column[],
): CamelFields<Row, Column> {
  const fields: Record<string, unknown> = {};
  for (const column of columns) fields[camelCase(column)] = row[column];
  return fields as CamelFields<Row, Column>;
}

/** A JSON text column holding a list of strings (targets, sample ids, column names...). */
export function jsonList<T = string>(text: string): T[] {
  return JSON.parse(text) as T[];
}
