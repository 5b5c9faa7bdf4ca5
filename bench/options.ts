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

/**
 * A bench's `--flag value` options from argv: `value(flag)` is the text after the flag (undefined
 * when absent), `int(flag, fallback, min)` an integer option with a default.
 */
export function flagOptions(bench: string, args = process.argv.slice(2)) {
  const value = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const int = (flag: string, fallback: number, min = 1): number =>
    value(flag) === undefined ? fallback : integerOption(bench, flag, value(flag), min);
  return { args, value, int };
}
