// Bemis–Murcko scaffolds (what Python's MurckoScaffold.GetScaffoldForMol computes), cut from a
// molecule graph in JavaScript because RDKit MinimalLib has no scaffold function.

// --- Bemis–Murcko scaffold -----------------------------------------------------------------------
//
// MinimalLib has no scaffold function, so the scaffold is cut from the molecule graph that
// `mol.get_json()` exposes (RDKit's JSON: atoms, Kekulé bonds, aromatic flags) and the result is read
// back with `get_mol`. The rules reproduce RDKit's MurckoDecompose (what Python's
// MurckoScaffold.GetScaffoldForMol calls):
// - keep ring atoms and the atoms on paths between rings (linkers);
// - keep an atom outside that core if it is double-bonded to it (C=O, C=N, exocyclic C=C);
// - drop everything else; a core atom that loses a neighbour gains a hydrogen per bond order, except
//   aromatic heteroatoms and aromatic carbocations, which end with exactly one H (n-CH3 -> [nH]);
//   its chirality tag is cleared (as RDKit does); double-bond stereo that referred to a dropped atom
//   is dropped.

interface RdJsonAtom {
  z?: number;
  impHs?: number;
  chg?: number;
  nRad?: number;
  stereo?: string;
  [key: string]: unknown;
}

interface RdJsonBond {
  atoms: [number, number];
  bo?: number;
  stereo?: string;
  stereoAtoms?: [number, number];
  [key: string]: unknown;
}

interface RdJsonMolecule {
  atoms: RdJsonAtom[];
  bonds: RdJsonBond[];
  extensions?: { name?: string; aromaticAtoms?: number[]; aromaticBonds?: number[] }[];
  [key: string]: unknown;
}

export interface RdJsonDocument {
  defaults?: { atom?: RdJsonAtom; bond?: Partial<RdJsonBond> };
  molecules?: RdJsonMolecule[];
  [key: string]: unknown;
}

/**
 * Returns the scaffold as an RDKit JSON document, '' when the molecule has no ring, or null when the
 * document is not in the expected shape.
 */
export function murckoScaffoldDocument(doc: RdJsonDocument): RdJsonDocument | '' | null {
  const molecule = doc.molecules?.[0];
  if (!molecule || !Array.isArray(molecule.atoms) || !Array.isArray(molecule.bonds)) return null;
  const atoms = molecule.atoms;
  const bonds = molecule.bonds;
  const n = atoms.length;
  const atomDefaults = doc.defaults?.atom ?? {};
  const bondDefaults = doc.defaults?.bond ?? {};
  const bondOrder = (b: RdJsonBond): number => b.bo ?? bondDefaults.bo ?? 1;
  const attr = (a: RdJsonAtom, key: 'z' | 'impHs' | 'chg' | 'nRad'): number => a[key] ?? atomDefaults[key] ?? (key === 'z' ? 6 : 0);
  const aromatic = new Set<number>();
  const aromaticBonds = new Set<number>();
  for (const ext of molecule.extensions ?? []) {
    for (const i of ext.aromaticAtoms ?? []) aromatic.add(i);
    for (const i of ext.aromaticBonds ?? []) aromaticBonds.add(i);
  }

  const neighbours: { atom: number; bond: number }[][] = Array.from({ length: n }, () => []);
  for (const [index, bond] of bonds.entries()) {
    const [a, b] = bond.atoms;
    if (!(a >= 0 && a < n && b >= 0 && b < n)) return null;
    neighbours[a]?.push({ atom: b, bond: index });
    neighbours[b]?.push({ atom: a, bond: index });
  }

  const selected = scaffoldAtoms(neighbours, bonds.length, (bond) => bondOrder(bonds[bond] as RdJsonBond));
  if (selected === null) return '';
  const { core, keep } = selected;

  // Hydrogens of atoms that lose a neighbour, following MurckoDecompose: core aromatic heteroatoms
  // and aromatic carbocations get exactly one H; other core atoms get RDKit's implicit-H count for
  // their new valence (and lose their chirality tag). A kept exocyclic atom (C=O, C=N) is not
  // touched by RDKit, so it is recomputed only if it was an implicit-H atom (a plain organic-subset
  // atom whose H count matched the default), and otherwise keeps its written H count.
  const valence = (i: number, survivorsOnly: boolean): number => {
    let sum = 0;
    for (const nb of neighbours[i] ?? []) {
      if (survivorsOnly && !keep[nb.atom]) continue;
      sum += aromaticBonds.has(nb.bond) ? 1.5 : bondOrder(bonds[nb.bond] as RdJsonBond);
    }
    return Math.round(sum + 0.1) + attr(atoms[i] as RdJsonAtom, 'nRad');
  };
  const newHs = new Int32Array(n).fill(-1);
  const clearChirality = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (!keep[i] || (neighbours[i] ?? []).every((nb) => keep[nb.atom])) continue;
    const atom = atoms[i] as RdJsonAtom;
    const z = attr(atom, 'z');
    const charge = attr(atom, 'chg');
    if (core[i]) {
      if (aromatic.has(i) && (z !== 6 || charge === 1)) {
        newHs[i] = 1;
      } else {
        newHs[i] = implicitHydrogens(z, charge, valence(i, true), aromatic.has(i));
        clearChirality[i] = 1;
      }
    } else if (charge === 0 && ORGANIC_SUBSET.has(z) && attr(atom, 'impHs') === implicitHydrogens(z, 0, valence(i, false), false)) {
      newHs[i] = implicitHydrogens(z, 0, valence(i, true), false);
    }
  }

  const newIndex = new Int32Array(n).fill(-1);
  const outAtoms: RdJsonAtom[] = [];
  for (let i = 0; i < n; i++) {
    if (!keep[i]) continue;
    newIndex[i] = outAtoms.length;
    const atom: RdJsonAtom = { ...(atoms[i] as RdJsonAtom) };
    const hs = newHs[i] ?? -1;
    if (hs >= 0 && hs !== attr(atom, 'impHs')) atom.impHs = hs;
    if (clearChirality[i] && atom.stereo !== undefined) atom.stereo = 'unspecified';
    outAtoms.push(atom);
  }
  const outBonds: RdJsonBond[] = [];
  for (const bond of bonds) {
    const [a, b] = bond.atoms;
    if (!keep[a] || !keep[b]) continue;
    const copy: RdJsonBond = { ...bond, atoms: [newIndex[a] ?? -1, newIndex[b] ?? -1] };
    if (bond.stereoAtoms) {
      const [s, t] = bond.stereoAtoms;
      if (keep[s] && keep[t]) {
        copy.stereoAtoms = [newIndex[s] ?? -1, newIndex[t] ?? -1];
      } else {
        delete copy.stereoAtoms;
        delete copy.stereo;
      }
    }
    outBonds.push(copy);
  }

  // Aromaticity, rings and stereo are perceived again when RDKit reads the document back.
  const { molecules: _molecules, ...header } = doc;
  return { ...header, molecules: [{ atoms: outAtoms, bonds: outBonds }] };
}

type Neighbours = { atom: number; bond: number }[][];

/**
 * The scaffold's atoms: `core` = ring atoms and the linkers between rings, `keep` = the core plus
 * atoms double-bonded to it; null when the molecule has no ring (its scaffold is empty).
 */
function scaffoldAtoms(
  neighbours: Neighbours,
  nBonds: number,
  bondOrder: (bond: number) => number,
): { core: Uint8Array; keep: Uint8Array } | null {
  const n = neighbours.length;
  // Ring atoms: atoms with at least one bond that is not a bridge (i.e. lies on a cycle).
  const bridge = findBridges(n, neighbours, nBonds);
  const core = new Uint8Array(n);
  let ringAtoms = 0;
  for (let i = 0; i < n; i++) {
    if ((neighbours[i] ?? []).some((nb) => !bridge[nb.bond])) {
      core[i] = 1;
      ringAtoms++;
    }
  }
  if (ringAtoms === 0) return null;

  // Linkers: prune chain ends repeatedly; chain atoms that survive connect two ring atoms.
  const pruned = new Uint8Array(n);
  const degree = new Int32Array(n);
  const queue: number[] = [];
  for (let i = 0; i < n; i++) {
    degree[i] = neighbours[i]?.length ?? 0;
    if (!core[i] && (degree[i] ?? 0) <= 1) queue.push(i);
  }
  while (queue.length > 0) {
    const i = queue.pop() as number;
    if (pruned[i]) continue;
    pruned[i] = 1;
    for (const nb of neighbours[i] ?? []) {
      if (pruned[nb.atom] || core[nb.atom]) continue;
      degree[nb.atom] = (degree[nb.atom] ?? 0) - 1;
      if ((degree[nb.atom] ?? 0) <= 1) queue.push(nb.atom);
    }
  }
  for (let i = 0; i < n; i++) if (!core[i] && !pruned[i]) core[i] = 1;

  // Side-chain atoms: kept when double-bonded to the core, otherwise removed.
  const keep = Uint8Array.from(core);
  for (let i = 0; i < n; i++) {
    if (core[i]) continue;
    if ((neighbours[i] ?? []).some((nb) => core[nb.atom] && bondOrder(nb.bond) === 2)) keep[i] = 1;
  }
  return { core, keep };
}

// --- The same cut on RDKit's own SMILES ----------------------------------------------------------
//
// Reading the graph through get_json, and the cut graph back through get_mol, cost about half of
// describe()'s time. Side chains are trees hanging off the scaffold, so in a SMILES they are whole
// branches or chain tails, and the scaffold is the SMILES with those cut out: written in the same
// order, every kept atom keeps its neighbours' order (so its @/@@ keeps its meaning), and RDKit
// reads the result once to canonicalise it. Only what this cannot express exactly is left to the
// graph path (null): double-bond stereo (Python drops E/Z whose reference atom is removed, a
// remaining '/' would keep it), dot-disconnected parts, atom classes, and bracket atoms whose new
// hydrogen count cannot be written without knowing more than the SMILES says.

interface SmilesAtom {
  /** The atom as written ("c", "[C@@H]", "[nH+]"). */
  text: string;
  /** Bond symbol to the parent ('' = implicit). */
  bond: string;
  /** Ring-closure tokens after the atom, bond symbol included ("=1", "%12"). */
  rings: string[];
  children: number[];
  aromatic: boolean;
  bracket: BracketAtom | null;
}

interface BracketAtom {
  isotope: string;
  symbol: string;
  chirality: string;
  hydrogens: number;
  charge: number;
}

const ATOMIC_NUMBERS: Readonly<Record<string, number>> = {
  H: 1,
  He: 2,
  Li: 3,
  Be: 4,
  B: 5,
  C: 6,
  N: 7,
  O: 8,
  F: 9,
  Ne: 10,
  Na: 11,
  Mg: 12,
  Al: 13,
  Si: 14,
  P: 15,
  S: 16,
  Cl: 17,
  Ar: 18,
  K: 19,
  Ca: 20,
  Ga: 31,
  Ge: 32,
  As: 33,
  Se: 34,
  Br: 35,
  Kr: 36,
  Rb: 37,
  Sr: 38,
  In: 49,
  Sn: 50,
  Sb: 51,
  Te: 52,
  I: 53,
  Xe: 54,
  Cs: 55,
  Ba: 56,
  Tl: 81,
  Pb: 82,
  Bi: 83,
  Po: 84,
  At: 85,
  Rn: 86,
  Fr: 87,
  Ra: 88,
};

const SMILES_TOKEN = /\[[^\]]*\]|Cl|Br|[BCNOPSFI*]|[bcnops]|%\d\d|\d|[-=#$:]|\(|\)|[\s\S]/gy;
const BRACKET = /^\[(\d*)(se|as|te|[A-Z][a-z]?|[bcnops]|\*)(@@|@)?(?:H(\d?))?(\+\d*|-\d*|\+\+|--)?\]$/;
const BOND_ORDER: Readonly<Record<string, number>> = { '-': 1, '=': 2, '#': 3, $: 4, ':': 1.5 };

function atomicNumber(atom: SmilesAtom): number | undefined {
  const symbol = atom.bracket ? atom.bracket.symbol : atom.text;
  if (symbol === '*') return 0;
  return ATOMIC_NUMBERS[atom.aromatic ? symbol.charAt(0).toUpperCase() + symbol.slice(1) : symbol];
}

function parseBracket(text: string): BracketAtom | null {
  const m = BRACKET.exec(text);
  if (!m) return null;
  const chargeText = m[5] ?? '';
  let charge = 0;
  if (chargeText === '++' || chargeText === '--') charge = chargeText === '++' ? 2 : -2;
  else if (chargeText !== '') charge = (chargeText[0] === '+' ? 1 : -1) * (chargeText.length > 1 ? Number(chargeText.slice(1)) : 1);
  const hydrogens = m[4] === undefined ? 0 : m[4] === '' ? 1 : Number(m[4]);
  return { isotope: m[1] ?? '', symbol: m[2] ?? '', chirality: m[3] ?? '', hydrogens, charge };
}

function writeBracket(b: BracketAtom, hydrogens: number, chirality: string): string {
  const h = hydrogens === 0 ? '' : hydrogens === 1 ? 'H' : `H${hydrogens}`;
  const charge = b.charge === 0 ? '' : `${b.charge > 0 ? '+' : '-'}${Math.abs(b.charge) === 1 ? '' : Math.abs(b.charge)}`;
  return `[${b.isotope}${b.symbol}${chirality}${h}${charge}]`;
}

/** Parses the SMILES RDKit writes for one molecule; null for anything this path does not handle. */
function parseSmiles(smiles: string): { atoms: SmilesAtom[]; neighbours: Neighbours; orders: number[] } | null {
  const atoms: SmilesAtom[] = [];
  const neighbours: Neighbours = [];
  const orders: number[] = [];
  const openRings = new Map<string, { atom: number; bond: string }>();
  const stack: number[] = [];
  let previous = -1;
  let pendingBond = '';
  const connect = (a: number, b: number, symbol: string): void => {
    const implicit = (atoms[a] as SmilesAtom).aromatic && (atoms[b] as SmilesAtom).aromatic ? 1.5 : 1;
    const order = symbol === '' ? implicit : BOND_ORDER[symbol];
    if (order === undefined) throw new Error('bond');
    neighbours[a]?.push({ atom: b, bond: orders.length });
    neighbours[b]?.push({ atom: a, bond: orders.length });
    orders.push(order);
  };
  SMILES_TOKEN.lastIndex = 0;
  try {
    for (let m = SMILES_TOKEN.exec(smiles); m !== null; m = SMILES_TOKEN.exec(smiles)) {
      const token = m[0];
      const first = token.charAt(0);
      if (first === '(') {
        if (previous < 0) return null;
        stack.push(previous);
      } else if (first === ')') {
        if (stack.length === 0 || pendingBond !== '') return null;
        previous = stack.pop() as number;
      } else if ('-=#$:'.includes(first)) {
        if (pendingBond !== '') return null;
        pendingBond = token;
      } else if (first === '%' || (first >= '0' && first <= '9')) {
        if (previous < 0) return null;
        const open = openRings.get(token);
        (atoms[previous] as SmilesAtom).rings.push(pendingBond + token);
        if (open) {
          openRings.delete(token);
          if (open.bond !== '' && pendingBond !== '' && open.bond !== pendingBond) return null;
          connect(open.atom, previous, open.bond || pendingBond);
        } else openRings.set(token, { atom: previous, bond: pendingBond });
        pendingBond = '';
      } else if (first === '[' || /^(Cl|Br|[BCNOPSFI*]|[bcnops])$/.test(token)) {
        const bracket = first === '[' ? parseBracket(token) : null;
        if (first === '[' && bracket === null) return null;
        const symbol = bracket ? bracket.symbol : token;
        const index = atoms.length;
        atoms.push({ text: token, bond: pendingBond, rings: [], children: [], aromatic: /^[a-z]/.test(symbol), bracket });
        neighbours.push([]);
        if (previous >= 0) {
          (atoms[previous] as SmilesAtom).children.push(index);
          connect(previous, index, pendingBond);
        } else if (index > 0 || pendingBond !== '') return null;
        previous = index;
        pendingBond = '';
      } else return null; // '/', '\\', '.', or anything unexpected
    }
  } catch {
    return null;
  }
  if (openRings.size > 0 || stack.length > 0 || pendingBond !== '' || atoms.length === 0) return null;
  return { atoms, neighbours, orders };
}

/**
 * The Bemis–Murcko scaffold of a molecule given as RDKit's SMILES of it, as a SMILES still to be
 * canonicalised (read it with RDKit and write it again); '' for a molecule without rings; the input
 * itself when nothing is cut (already canonical); null when this path cannot say (use the graph).
 */
export function murckoScaffoldFromSmiles(smiles: string): { smiles: string; unchanged: boolean } | '' | null {
  const parsed = parseSmiles(smiles);
  if (parsed === null) return null;
  const { atoms, neighbours, orders } = parsed;
  const selected = scaffoldAtoms(neighbours, orders.length, (bond) => orders[bond] as number);
  if (selected === null) return '';
  const { core, keep } = selected;
  const n = atoms.length;
  const texts = atoms.map((a) => a.text);
  let unchanged = true;
  for (let i = 0; i < n; i++) {
    if (!keep[i]) {
      unchanged = false;
      continue;
    }
    const list = neighbours[i] ?? [];
    if (list.every((nb) => keep[nb.atom])) continue;
    const atom = atoms[i] as SmilesAtom;
    const z = atomicNumber(atom);
    if (z === undefined) return null;
    const bracket = atom.bracket;
    const valence = (survivorsOnly: boolean) => {
      let sum = 0;
      for (const nb of list) if (!survivorsOnly || keep[nb.atom]) sum += orders[nb.bond] as number;
      return Math.round(sum + 0.1);
    };
    if (!core[i]) {
      // A kept exocyclic atom (C=O) that lost a neighbour: RDKit recomputes an unbracketed atom's
      // hydrogens as the graph path does; a bracketed one would keep its written count there.
      if (bracket) return null;
      continue;
    }
    // Same rules as the graph path (MurckoDecompose). A bracket atom whose written hydrogens do
    // not fill its valence is a radical or otherwise unusual: left to the graph path.
    if (bracket && implicitHydrogens(z, bracket.charge, valence(false) + bracket.hydrogens, atom.aromatic) !== 0) return null;
    const charge = bracket?.charge ?? 0;
    if (atom.aromatic && (z !== 6 || charge === 1)) {
      if (bracket) texts[i] = writeBracket(bracket, 1, bracket.chirality);
      else texts[i] = `[${atom.text}H]`;
    } else if (bracket) {
      texts[i] = writeBracket(bracket, implicitHydrogens(z, charge, valence(true), atom.aromatic), '');
    } // an unbracketed atom gets RDKit's implicit hydrogens when read back, chirality it never had
  }
  if (unchanged) return { smiles, unchanged: true };
  // Kept atoms form one subtree of the SMILES's spanning tree (side chains hang off one atom
  // each); its top is the first kept atom written.
  const top = keep.indexOf(1);
  const write = (i: number, withBond: boolean): string => {
    const atom = atoms[i] as SmilesAtom;
    let out = (withBond ? atom.bond : '') + texts[i] + atom.rings.join('');
    const kids = atom.children.filter((c) => keep[c]);
    for (const [k, child] of kids.entries()) out += k < kids.length - 1 ? `(${write(child, true)})` : write(child, true);
    return out;
  };
  return { smiles: write(top, false), unchanged: false };
}

// Allowed valences of the main-group elements, as in RDKit's periodic table (Python RDKit 2022.09);
// elements not listed (transition metals, lanthanides, actinides) take no implicit hydrogens.
// Written as runs of consecutive elements: the first atomic number, then each element's valences.
const VALENCE_RUNS: readonly (readonly [number, ...(readonly number[])[]])[] = [
  [1, [1], [0]],
  [3, [1], [2], [3], [4], [3], [2], [1], [0]],
  [11, [1], [2], [3, 6], [4, 6], [3, 5, 7], [2, 4, 6], [1], [0]],
  [19, [1], [2]],
  [31, [3], [4], [3, 5, 7], [2, 4, 6], [1], [0], [1], [2]],
  [49, [3], [2, 4], [3, 5, 7], [2, 4, 6], [1, 3, 5], [0, 2, 4, 6], [1], [2]],
  [81, [3], [2, 4], [3, 5, 7], [2, 4, 6], [1, 3, 5], [0], [1], [2]],
];
const VALENCES: Readonly<Record<number, readonly number[]>> = Object.fromEntries(
  VALENCE_RUNS.flatMap(([first, ...valences]) => valences.map((v, i) => [first + i, v])),
);
/** Elements left of carbon, for which a positive charge removes rather than adds a hydrogen. */
const EARLY_ATOMS = new Set([3, 4, 5, 11, 12, 13, 19, 20, 31, 32, 37, 38, 49, 50, 51, 55, 56, 81, 82, 83, 87, 88]);
/** B, C, N, O, P, S, F, Cl, Br, I: the atoms SMILES writes without brackets. */
const ORGANIC_SUBSET = new Set([5, 6, 7, 8, 9, 15, 16, 17, 35, 53]);

/** RDKit's implicit hydrogen count for an atom of element z, charge and explicit valence. */
function implicitHydrogens(z: number, charge: number, explicitValence: number, aromatic: boolean): number {
  const valences = VALENCES[z];
  if (z === 0 || !valences || valences.length === 0) return 0;
  let chg = EARLY_ATOMS.has(z) ? -charge : charge;
  if (z === 6 && chg > 0) chg = -chg;
  const defaultValence = valences[0] ?? 0;
  if (aromatic) return explicitValence <= defaultValence + chg ? defaultValence + chg - explicitValence : 0;
  for (const v of valences) if (explicitValence <= v + chg) return v + chg - explicitValence;
  return 0;
}

/** Marks bridges (bonds on no cycle) with an iterative Tarjan low-link search. */
function findBridges(n: number, neighbours: { atom: number; bond: number }[][], nBonds: number): Uint8Array {
  const bridge = new Uint8Array(nBonds);
  const order = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  let clock = 0;
  for (let root = 0; root < n; root++) {
    if (order[root] !== -1) continue;
    order[root] = low[root] = clock++;
    const stack: { atom: number; viaBond: number; next: number }[] = [{ atom: root, viaBond: -1, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { atom: number; viaBond: number; next: number };
      const list = neighbours[top.atom] ?? [];
      if (top.next < list.length) {
        const nb = list[top.next++] as { atom: number; bond: number };
        if (nb.bond === top.viaBond) continue;
        if (order[nb.atom] === -1) {
          order[nb.atom] = low[nb.atom] = clock++;
          stack.push({ atom: nb.atom, viaBond: nb.bond, next: 0 });
        } else {
          low[top.atom] = Math.min(low[top.atom] ?? 0, order[nb.atom] ?? 0);
        }
      } else {
        stack.pop();
        const parent = stack[stack.length - 1];
        if (parent) {
          low[parent.atom] = Math.min(low[parent.atom] ?? 0, low[top.atom] ?? 0);
          if ((low[top.atom] ?? 0) > (order[parent.atom] ?? 0)) bridge[top.viaBond] = 1;
        }
      }
    }
  }
  return bridge;
}
