// Structure facts for one drug from its SMILES: canonical form, InChIKey, Morgan fingerprint (the
// environment representation the models see), Bemis–Murcko scaffold (for scaffold splits) and a 2-D
// SVG depiction. Computed by RDKit MinimalLib (wasm), checked against Python RDKit by
// test/unit/chemistry.test.ts; or, when the optional cellshift_rdkit addon loads (native.ts), the
// parent, canonical SMILES, scaffold and Morgan bits come from native RDKit (the same release as
// Python's on Debian) and only the depiction and InChIKey from the wasm build, drawn from the
// native canonical SMILES. One engine decides every stored fact (see MoleculeRecord's engine).
//
// Salts and mixtures: a SMILES with several '.'-separated components (e.g. "imatinib mesylate",
// "CS(=O)(=O)O.Cc1ccc(...)") is reduced to its parent, the fragment with the most heavy atoms (ties:
// larger exact mass, then the smaller canonical SMILES). LINCS `canonical_smiles` in pert_info describe
// the parent compound, so a salt form and its parent get the same fingerprint, scaffold and InChIKey;
// the dropped counter-ions/solvents are reported in `removedFragments`. Charges are kept as written
// (no neutralization, no tautomer canonicalization).
//
// Bad input never throws: empty, placeholder ("-666"), over-long and unparsable SMILES come back as
// `{ ok: false, reason }`. Every RDKit object created here is deleted before returning.
//
// Crashes inside the wasm: RDKit MinimalLib overflows its stack or traps on very large molecules (a
// chain of 600 carbons, 150 chained phenyls), and after a trap or an escaped C++ exception the
// instance is broken for good — every later call fails with "memory access out of bounds" or hangs.
// So molecules over MAX_ATOMS are refused before parsing, and if RDKit fails anyway, the broken
// instance is dropped and a fresh one loaded (`ready()` waits for it); the structure that caused it
// is reported invalid like any other.

import { murckoScaffoldDocument, murckoScaffoldFromSmiles, type RdJsonDocument } from './murcko.js';
import { loadNativeRDKit, type NativeDescribed, type NativeRDKitBinding } from './native.js';
import type { RDKitModule, RDKitMol, RDKitRuntime } from './rdkit.js';
import { discardRDKit, isDiscarded, loadRDKit } from './rdkit.js';

/** Longest SMILES accepted; longer strings are refused before reaching the parser. */
export const MAX_SMILES_LENGTH = 10_000;

/**
 * Most atoms accepted, counted in the SMILES before parsing. Drug libraries (LINCS pert_info) stay
 * far below; RDKit's wasm fails from about 600 atoms in a chain, and 300 atoms take seconds to draw.
 */
export const MAX_ATOMS = 300;

export const DEFAULT_RADIUS = 2;
export const DEFAULT_N_BITS = 1024;
export const MAX_RADIUS = 6;
export const MAX_N_BITS = 65_536;

/** How a scaffold cut from a canonical SMILES is read (see Chemistry.#canonicalScaffold). */
const SCAFFOLD_READ = JSON.stringify({ sanitize: false });

/** Placeholders that metadata tables (LINCS pert_info and friends) use for "no structure". */
const MISSING_MARKERS = new Set(['-666', '-666.0', 'na', 'n/a', 'nan', 'none', 'null', 'restricted', '-']);

export interface DescribeOptions {
  /** Morgan radius (default 2, i.e. ECFP4-like). */
  radius?: number;
  /** Fingerprint length in bits (default 1024). */
  nBits?: number;
  /** Include atom chirality (the R/S labels RDKit assigns) in the Morgan invariants (default false). */
  chirality?: boolean;
  /** Draw the 2-D SVG depiction (default true; turn off when only fingerprints are needed). */
  depict?: boolean;
  /** Compute the InChIKey (default true; a quarter of the time when depiction is off). */
  inchiKey?: boolean;
  /** Refuse molecules with more atoms than this (default MAX_ATOMS). */
  maxAtoms?: number;
}

export interface FingerprintParams {
  radius: number;
  nBits: number;
  chirality: boolean;
}

export interface MoleculeInfo {
  ok: true;
  /** RDKit canonical SMILES of the parent (largest fragment), stereo included. */
  canonicalSmiles: string;
  /** Canonical SMILES of the fragments dropped from a salt or mixture (empty for one component). */
  removedFragments: string[];
  /** Standard InChIKey of the parent; null when InChI generation fails (e.g. unsupported elements) or `inchiKey: false`. */
  inchiKey: string | null;
  /** Morgan fingerprint, one byte per bit (0 or 1), length `params.nBits`. */
  fingerprint: Uint8Array;
  /** Number of set bits in `fingerprint`. */
  onBits: number;
  params: FingerprintParams;
  /**
   * Bemis–Murcko scaffold SMILES (rings, linkers between rings, and atoms double-bonded to them),
   * '' for an acyclic molecule, null if the scaffold could not be built.
   */
  scaffoldSmiles: string | null;
  /** 2-D depiction of the parent; null only when `depict: false` was asked for. */
  svg: string | null;
}

export interface InvalidMolecule {
  ok: false;
  reason: string;
  /** The engine was restarting after a crash: the SMILES itself may be fine (do not cache this). */
  retry?: true;
}

export type MoleculeResult = MoleculeInfo | InvalidMolecule;

/** Who computes the parent, canonical SMILES, scaffold and Morgan bits. */
export type ChemistryEngineName = 'native' | 'wasm';

export interface ChemistryEngineInfo {
  name: ChemistryEngineName;
  /** What the user is told, e.g. "native RDKit 2022.09.3 (cellshift_rdkit addon)". */
  label: string;
  /** Why this engine: the native addon's version, or why it did not load. */
  reason: string;
}

/**
 * The engine this thread uses: native when the cellshift_rdkit addon loads, else the wasm build.
 * `prefer: 'wasm'` asks for the wasm build even when native is there.
 */
export function chemistryEngine(prefer?: ChemistryEngineName): ChemistryEngineInfo {
  if (prefer === 'wasm') return { name: 'wasm', label: 'RDKit WebAssembly build', reason: 'asked for the WebAssembly build' };
  const native = loadNativeRDKit();
  if (native.ok)
    return { name: 'native', label: `native RDKit ${native.version} (cellshift_rdkit addon)`, reason: `loaded ${native.path}` };
  return { name: 'wasm', label: 'RDKit WebAssembly build', reason: native.why };
}

/** The engine's tag stored with cached structure facts, e.g. "native 2022.09.3" or "wasm 2026.09.1". */
export function engineTag(name: ChemistryEngineName, version: string): string {
  return `${name} ${version}`;
}

/** What `Chemistry.features` computes: Morgan bits at a radius, or RDKit's 2-D descriptors. */
export type FeatureSpec = { kind: 'morgan'; radius: number; nBits: number } | { kind: 'descriptors' };

export class Chemistry {
  /** Native RDKit for parent, canonical SMILES, scaffold and Morgan bits; null: the wasm build does all. */
  readonly #native: { binding: NativeRDKitBinding; version: string } | null;
  #rdkit: RDKitModule;
  #runtime: RDKitRuntime;
  /** Loading a fresh RDKit after a crash inside the old one. */
  #restart: Promise<void> | null = null;
  /** Why the last restart failed, if it did (every describe then reports it). */
  #restartFailure: string | null = null;

  private constructor(runtime: RDKitRuntime, native: { binding: NativeRDKitBinding; version: string } | null) {
    this.#runtime = runtime;
    this.#rdkit = runtime.module;
    this.#native = native;
  }

  /**
   * Loads RDKit (once per process; later calls reuse the same wasm instance) and the native addon
   * when it loads (`engine: 'wasm'` leaves it out; `engine: 'native'` fails without it).
   */
  static async load(options: { engine?: ChemistryEngineName } = {}): Promise<Chemistry> {
    let native: { binding: NativeRDKitBinding; version: string } | null = null;
    if (options.engine !== 'wasm') {
      const loaded = loadNativeRDKit();
      if (loaded.ok) native = loaded;
      else if (options.engine === 'native') throw new Error(`native RDKit is not available: ${loaded.why}`);
    }
    return new Chemistry(await loadRDKit(), native);
  }

  /** Which engine computes the stored facts. */
  get engine(): ChemistryEngineName {
    return this.#native ? 'native' : 'wasm';
  }

  /** The engine as the user is told it in progress messages, e.g. "native RDKit 2022.09.3". */
  get engineLabel(): string {
    return this.#native ? `native RDKit ${this.#native.version}` : `RDKit ${this.#runtime.version} WebAssembly`;
  }

  /** Release of the wasm build (features, depictions, InChIKeys); store it with its results to know when to recompute. */
  get rdkitVersion(): string {
    return this.#runtime.version;
  }

  /**
   * Engine and release computing describe()'s facts, e.g. "native 2022.09.3": stored with cached
   * facts, which are recomputed under another tag (releases write some SMILES differently).
   */
  get engineTag(): string {
    return engineTag(this.engine, this.#native?.version ?? this.#runtime.version);
  }

  /** Milliseconds the wasm took to load (shared by every Chemistry of the process). */
  get loadMs(): number {
    return this.#runtime.loadMs;
  }

  /**
   * Resolves when structures can be described: at once, or after a crashed RDKit (this one's or,
   * through the shared runtime, another Chemistry's) has been replaced by a fresh instance.
   */
  async ready(): Promise<void> {
    if (!this.#restart && isDiscarded(this.#runtime)) this.#replaceRuntime();
    await this.#restart;
  }

  /**
   * Describes a drug from its SMILES. Throws only for programming errors (RangeError on invalid
   * `radius`/`nBits`); any problem with the SMILES itself is an `InvalidMolecule`.
   */
  describe(smiles: string, options: DescribeOptions = {}): MoleculeResult {
    const params = fingerprintParams(options);
    const input = screenSmiles(smiles, options.maxAtoms);
    if (typeof input !== 'string') return input;
    const factsOnly = options.depict === false && options.inchiKey === false;
    if (this.#native && factsOnly)
      return describedNatively(this.#native.binding.describe([input], params.radius, params.nBits, params.chirality)[0], params);
    if (!this.#restart && isDiscarded(this.#runtime)) this.#replaceRuntime();
    if (this.#restart) {
      return { ok: false, reason: 'the chemistry engine is restarting after RDKit crashed on an earlier structure', retry: true };
    }
    if (this.#restartFailure) return invalid(this.#restartFailure);
    if (this.#native) return this.#describeNativelyWithDrawing(input, params, options);

    const owned: RDKitMol[] = [];
    try {
      const whole = this.#parse(input);
      if (!whole.ok) return whole;
      owned.push(whole.mol);
      if (whole.mol.get_num_atoms() === 0) return invalid('SMILES has no atoms');

      let mol = whole.mol;
      let canonicalSmiles = mol.get_smiles();
      let removedFragments: string[] = [];
      if (canonicalSmiles.includes('.')) {
        const parent = this.#parentFragment(mol);
        if (!parent.ok) return parent;
        removedFragments = parent.removed;
        // Re-read the parent from its SMILES so that a salt and its parent get identical results
        // (all but the SVG, whose layout follows the atom order of the SMILES read).
        const reparsed = this.#parse(parent.smiles);
        if (!reparsed.ok) return invalid(`parent fragment ${parent.smiles} could not be re-read: ${reparsed.reason}`);
        owned.push(reparsed.mol);
        mol = reparsed.mol;
        canonicalSmiles = mol.get_smiles();
      }

      // MinimalLib's option names are radius / nBits / useChirality; unknown keys (fpSize,
      // includeChirality) are silently ignored, so they must be spelled exactly so.
      const fingerprint = unpackBits(
        mol.get_morgan_fp_as_uint8array(
          JSON.stringify({ radius: params.radius, nBits: params.nBits, useChirality: params.chirality }),
        ) as Uint8Array,
        params.nBits,
      );
      return {
        ok: true,
        canonicalSmiles,
        removedFragments,
        inchiKey: options.inchiKey === false ? null : this.#inchiKey(mol),
        fingerprint,
        onBits: countOnBits(fingerprint),
        params,
        scaffoldSmiles: this.#scaffold(mol, canonicalSmiles),
        svg: options.depict === false ? null : mol.get_svg(),
      };
    } catch (error) {
      // RDKit signals internal failures as WebAssembly exceptions; report them, never crash.
      if (isWasmFailure(error)) this.#crashed();
      return invalid(`RDKit failed on this structure: ${describeError(error)}`);
    } finally {
      // A crashed instance may fail to free too; it is being replaced anyway.
      try {
        for (const m of owned) m.delete();
        this.#runtime.log?.clear_buffer();
      } catch (error) {
        if (isWasmFailure(error)) this.#crashed();
      }
    }
  }

  /**
   * Native facts, and the depiction and InChIKey from the wasm build, drawn from the native
   * canonical SMILES (so the stored facts are the native engine's whatever is drawn).
   */
  #describeNativelyWithDrawing(input: string, params: FingerprintParams, options: DescribeOptions): MoleculeResult {
    const facts = describedNatively(this.#native?.binding.describe([input], params.radius, params.nBits, params.chirality)[0], params);
    if (!facts.ok) return facts;
    const parsed = this.#parse(facts.canonicalSmiles);
    if (!parsed.ok) return invalid(`the WebAssembly build could not read ${facts.canonicalSmiles} to draw it: ${parsed.reason}`);
    try {
      return {
        ...facts,
        inchiKey: options.inchiKey === false ? null : this.#inchiKey(parsed.mol),
        svg: options.depict === false ? null : parsed.mol.get_svg(),
      };
    } catch (error) {
      if (isWasmFailure(error)) this.#crashed();
      return invalid(`RDKit failed on this structure: ${describeError(error)}`);
    } finally {
      try {
        parsed.mol.delete();
        this.#runtime.log?.clear_buffer();
      } catch (error) {
        if (isWasmFailure(error)) this.#crashed();
      }
    }
  }

  /** The wasm instance is broken: never call it again, load a fresh one. */
  #crashed(): void {
    discardRDKit(this.#runtime);
    if (!this.#restart) this.#replaceRuntime();
  }

  #replaceRuntime(): void {
    this.#restart = loadRDKit()
      .then(
        (runtime) => {
          this.#runtime = runtime;
          this.#rdkit = runtime.module;
          this.#restartFailure = null;
        },
        (error: unknown) => {
          this.#restartFailure = `the chemistry engine could not restart after a crash: ${describeError(error)}`;
        },
      )
      .finally(() => {
        this.#restart = null;
      });
  }

  /**
   * Features of a canonical SMILES (as `describe` returns it) for a drug representation: Morgan
   * bits at a radius, or the WebAssembly build's RDKit 2-D descriptor set (names in RDKit's order).
   * The wasm build has no count fingerprints (`useCounts` and `countSimulation` are ignored), so
   * radii are what varies.
   */
  features(canonicalSmiles: string, spec: FeatureSpec): { ok: true; names: string[]; values: Float32Array } | InvalidMolecule {
    const parsed = this.#parse(canonicalSmiles);
    if (!parsed.ok) return parsed;
    try {
      if (spec.kind === 'morgan') {
        const bits = parsed.mol.get_morgan_fp(JSON.stringify({ radius: spec.radius, nBits: spec.nBits, useChirality: false }));
        return {
          ok: true,
          names: Array.from({ length: spec.nBits }, (_, i) => `morgan r${spec.radius} bit ${i}`),
          values: Float32Array.from(bits, (c) => (c === '1' ? 1 : 0)),
        };
      }
      const descriptors = JSON.parse(parsed.mol.get_descriptors()) as Record<string, number>;
      const names = Object.keys(descriptors);
      return { ok: true, names: names.map((n) => `descriptor ${n}`), values: Float32Array.from(names, (n) => descriptors[n] as number) };
    } catch (error) {
      if (isWasmFailure(error)) this.#crashed();
      return invalid(`RDKit failed on this structure: ${describeError(error)}`);
    } finally {
      parsed.mol.delete();
    }
  }

  #parse(smiles: string): { ok: true; mol: RDKitMol } | InvalidMolecule {
    const log = this.#runtime.log;
    log?.clear_buffer();
    let mol: RDKitMol | null = null;
    try {
      mol = this.#rdkit.get_mol(smiles);
    } catch (error) {
      if (isWasmFailure(error)) this.#crashed();
      return invalid(`RDKit failed to parse the SMILES: ${describeError(error)}`);
    }
    if (mol?.is_valid()) return { ok: true, mol };
    mol?.delete();
    const detail = log ? logReason(log.get_buffer(), smiles) : '';
    return invalid(detail ? `invalid SMILES: ${detail}` : 'invalid SMILES');
  }

  #parentFragment(mol: RDKitMol): { ok: true; smiles: string; removed: string[] } | InvalidMolecule {
    const { molList } = mol.get_frags() as { molList: RDKitMolList };
    const fragments: { smiles: string; heavyAtoms: number; mass: number }[] = [];
    try {
      for (let i = 0; i < molList.size(); i++) {
        const fragment = molList.at(i);
        if (!fragment) continue;
        try {
          const descriptors = JSON.parse(fragment.get_descriptors()) as { exactmw?: number };
          fragments.push({ smiles: fragment.get_smiles(), heavyAtoms: fragment.get_num_atoms(true), mass: descriptors.exactmw ?? 0 });
        } finally {
          fragment.delete();
        }
      }
    } finally {
      molList.delete();
    }
    fragments.sort((a, b) => b.heavyAtoms - a.heavyAtoms || b.mass - a.mass || compareStrings(a.smiles, b.smiles));
    const [parent, ...rest] = fragments;
    if (!parent) return invalid('SMILES has no fragments');
    return { ok: true, smiles: parent.smiles, removed: rest.map((f) => f.smiles) };
  }

  #inchiKey(mol: RDKitMol): string | null {
    try {
      const inchi = mol.get_inchi();
      if (!inchi) return null;
      const key = this.#rdkit.get_inchikey_for_inchi(inchi);
      return /^[A-Z]{14}-[A-Z]{10}-[A-Z]$/.test(key) ? key : null;
    } catch (error) {
      if (isWasmFailure(error)) throw error;
      return null;
    }
  }

  #scaffold(mol: RDKitMol, canonicalSmiles: string): string | null {
    // Cut from the SMILES when it can be (one RDKit read to canonicalise), else from the graph.
    const cut = murckoScaffoldFromSmiles(canonicalSmiles);
    if (cut === '') return '';
    if (cut?.unchanged) return canonicalSmiles;
    if (cut) {
      const canonical = this.#canonicalScaffold(cut.smiles);
      if (canonical !== null) return canonical;
    }
    return this.#scaffoldFromGraph(mol);
  }

  /**
   * RDKit's canonical SMILES of a scaffold cut from a canonical SMILES. Read unsanitised first: its
   * atoms, charges, H counts and aromatic rings are written out already (Murcko keeps whole rings
   * and the double bonds on them, so no ring's aromaticity changes), and sanitising was a third of
   * this read's time (same output for all 16,218 scaffolds cut from the LINCS drugs). The stereo
   * marks are still re-perceived, as they must be: a centre may be no longer one without its side
   * chain. If that read fails, the normal one decides.
   */
  #canonicalScaffold(smiles: string): string | null {
    for (const details of [SCAFFOLD_READ, null]) {
      const scaffold = details ? this.#rdkit.get_mol(smiles, details) : this.#rdkit.get_mol(smiles);
      try {
        if (scaffold?.is_valid()) return scaffold.get_smiles();
      } finally {
        scaffold?.delete();
      }
    }
    return null;
  }

  #scaffoldFromGraph(mol: RDKitMol): string | null {
    let doc: RdJsonDocument;
    try {
      doc = JSON.parse(mol.get_json()) as RdJsonDocument;
    } catch (error) {
      if (isWasmFailure(error)) throw error;
      return null;
    }
    const scaffold = murckoScaffoldDocument(doc);
    if (scaffold === null) return null;
    if (scaffold === '') return '';
    // Two reads, as Python's MolToSmiles re-perceives stereo on the edited molecule: (1) read the
    // JSON without stereo perception, because MinimalLib's legacy perception rebuilds double-bond
    // stereo from bond directions, which JSON does not carry, and would drop every E/Z; (2) read its
    // SMILES normally, which keeps the stereo that is still meaningful and drops tags that are not
    // (e.g. a C=C whose two substituents on one end became identical phenyls).
    // A scaffold without stereo marks has nothing for the second read to re-perceive, so its first
    // SMILES is already the answer (most drugs: the second read was a third of describe's time).
    let core: RDKitMol | null = null;
    let canonical: RDKitMol | null = null;
    try {
      core = this.#rdkit.get_mol(JSON.stringify(scaffold), JSON.stringify({ assignStereo: false }));
      if (!core?.is_valid()) return null;
      const first = core.get_smiles();
      if (!/[@/\\]/.test(first)) return first;
      canonical = this.#rdkit.get_mol(first);
      return canonical?.is_valid() ? canonical.get_smiles() : null;
    } catch (error) {
      if (isWasmFailure(error)) throw error;
      return null;
    } finally {
      core?.delete();
      canonical?.delete();
    }
  }
}

/**
 * The SMILES to hand RDKit (trimmed), or why it is refused before any engine sees it: not a
 * string, too long, empty, a missing-value placeholder, too many atoms. Both engines share it, so
 * they refuse the same input with the same words.
 */
export function screenSmiles(smiles: unknown, maxAtoms = MAX_ATOMS): string | InvalidMolecule {
  if (typeof smiles !== 'string') return invalid('SMILES is not a string');
  if (smiles.length > MAX_SMILES_LENGTH) {
    return invalid(`SMILES is ${smiles.length} characters long; the limit is ${MAX_SMILES_LENGTH} (drug-like molecules need far fewer)`);
  }
  const input = smiles.trim();
  if (input === '') return invalid('empty SMILES');
  if (MISSING_MARKERS.has(input.toLowerCase())) return invalid(`no structure: "${input}" is a missing-value placeholder`);
  const atoms = countAtoms(input);
  if (atoms > maxAtoms) {
    return invalid(`SMILES has about ${atoms} atoms; the limit is ${maxAtoms} (RDKit's WebAssembly build fails on larger molecules)`);
  }
  return input;
}

/** The addon's answer for one SMILES as describe() returns it (no depiction, no InChIKey). */
export function describedNatively(described: NativeDescribed | undefined, params: FingerprintParams): MoleculeResult {
  if (!described) return invalid('native RDKit returned no result');
  if (described.error !== undefined) return invalid(described.error);
  return {
    ok: true,
    canonicalSmiles: described.canonicalSmiles,
    removedFragments: described.removedFragments,
    inchiKey: null,
    fingerprint: described.fingerprint,
    onBits: countOnBits(described.fingerprint),
    params,
    scaffoldSmiles: described.scaffoldSmiles,
    svg: null,
  };
}

// --- Fingerprint helpers -------------------------------------------------------------------------

/** Model input: the 0/1 fingerprint as float32. */
export function fingerprintToFloat32(fp: Uint8Array): Float32Array {
  const out = new Float32Array(fp.length);
  for (let i = 0; i < fp.length; i++) out[i] = fp[i] ? 1 : 0;
  return out;
}

/** Indices of the set bits, ascending. */
export function fingerprintOnBits(fp: Uint8Array): number[] {
  const bits: number[] = [];
  for (let i = 0; i < fp.length; i++) if (fp[i]) bits.push(i);
  return bits;
}

/**
 * Tanimoto (Jaccard) similarity |a ∧ b| / |a ∨ b| of two fingerprints of equal length. Two empty
 * fingerprints are identical, similarity 1 (as RDKit's TanimotoSimilarity).
 */
export function tanimoto(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`fingerprints differ in length (${a.length} vs ${b.length} bits)`);
  let both = 0;
  let either = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ? 1 : 0;
    const y = b[i] ? 1 : 0;
    both += x & y;
    either += x | y;
  }
  return either === 0 ? 1 : both / either;
}

export function fingerprintParams(options: DescribeOptions): FingerprintParams {
  const radius = options.radius ?? DEFAULT_RADIUS;
  const nBits = options.nBits ?? DEFAULT_N_BITS;
  if (!Number.isInteger(radius) || radius < 0 || radius > MAX_RADIUS) {
    throw new RangeError(`Morgan radius must be an integer from 0 to ${MAX_RADIUS}, got ${radius}`);
  }
  if (!Number.isInteger(nBits) || nBits < 1 || nBits > MAX_N_BITS) {
    throw new RangeError(`fingerprint size must be an integer from 1 to ${MAX_N_BITS} bits, got ${nBits}`);
  }
  return { radius, nBits, chirality: options.chirality ?? false };
}

/** RDKit's packed fingerprint (bit i in byte i >> 3, least significant bit first) as one byte per bit. */
function unpackBits(packed: Uint8Array, nBits: number): Uint8Array {
  if (packed.length !== Math.ceil(nBits / 8)) throw new Error(`RDKit returned a ${packed.length}-byte fingerprint for ${nBits} bits`);
  const out = new Uint8Array(nBits);
  for (let i = 0; i < nBits; i++) out[i] = ((packed[i >> 3] as number) >> (i & 7)) & 1;
  return out;
}

function countOnBits(fp: Uint8Array): number {
  let n = 0;
  for (const bit of fp) n += bit;
  return n;
}

interface RDKitMolList {
  size(): number;
  at(i: number): RDKitMol | null;
  delete(): void;
}

// --- small helpers -------------------------------------------------------------------------------

function invalid(reason: string): InvalidMolecule {
  return { ok: false, reason };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Turns RDKit's captured log ("[12:00:00] SMILES Parse Error: ...") into one readable line. */
function logReason(buffer: string, smiles: string): string {
  const lines = buffer
    .split('\n')
    .map((line) => line.replace(/^\[\d\d:\d\d:\d\d\]\s?/, '').trim())
    // Drop the echo of the input and the ^~~ marker line under it; keep the messages.
    .filter((line) => line !== '' && !/^[\s^~]*$/.test(line) && !(smiles.includes(line) && !line.includes(': ')))
    .map((line) => line.replace(/:$/, ''));
  const generic = /^SMILES Parse Error: Failed parsing SMILES/;
  const specific = lines.filter((line) => !generic.test(line));
  const reason = [...new Set(specific.length > 0 ? specific : lines)].slice(0, 3).join('; ');
  // Messages quote the input; keep a long one readable.
  return reason.length > 300 ? `${reason.slice(0, 300)}…` : reason;
}

/** Atoms written in a SMILES: bracket atoms, the organic subset (Cl and Br first), aromatic ones, '*'. */
export function countAtoms(smiles: string): number {
  let atoms = 0;
  for (const _ of smiles.matchAll(/\[[^\]]*\]|Cl|Br|[BCNOPSFI*]|[bcnops]/g)) atoms++;
  return atoms;
}

/**
 * A failure of the wasm itself (trap, stack overflow, escaped C++ exception), after which the
 * instance must not be used again — unlike JS-side errors (bad JSON, binding checks).
 */
function isWasmFailure(error: unknown): boolean {
  // By name: WebAssembly is not a typed value in every program this file is compiled into (the Electron shell's).
  if (error instanceof Error && error.name === 'RuntimeError') return true;
  if (error instanceof RangeError && /call stack/i.test(error.message)) return true;
  return typeof error === 'object' && error !== null && error.constructor?.name === 'Exception';
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  // C++ exceptions surface as WebAssembly.Exception objects without a readable message.
  if (typeof error === 'object' && error !== null && error.constructor?.name === 'Exception') return 'internal RDKit exception';
  return String(error);
}
