// Command-line handling the benches share: a bad option ends the run with exit code 2 and names
// the bench and the option, before anything is measured.

export function usageError(bench: string, message: string): never {
  console.error(`bench:${bench}: ${message}`);
  process.exit(2);
}

/** The value of an integer option, or a usage error when it is missing, not an integer or below `min`. */
export function integerOption(bench: string, flag: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) usageError(bench, `${flag} needs an integer ≥ ${min}, got "${value}"`);
  return n;
}
