// The LINCS Level-5 layout both import and load benches write: cell lines, doses, times, and
// drug ids and structures (real molecules; drug d is BASE_SMILES[d % n] with floor(d / n) extra
// carbons prepended, so there are as many distinct homologues as drugs asked for).
export const LANDMARKS = 978;
export const CELLS = ['A375', 'A549', 'HA1E', 'HCC515', 'HEPG2', 'HT29', 'MCF7', 'NPC', 'PC3', 'VCAP'];
export const DOSES = ['0.04', '0.12', '0.37', '1.11', '3.33', '10'];
export const TIMES = ['6', '24'];
export const BASE_SMILES = [
  'CC(=O)Oc1ccccc1C(=O)O', // aspirin
  'Cn1cnc2c1c(=O)n(C)c(=O)n2C', // caffeine
  'Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1', // imatinib
  'CC(C)Cc1ccc(cc1)C(C)C(=O)O', // ibuprofen
  'CC(=O)Nc1ccc(O)cc1', // paracetamol
  'CN(C)C(=N)NC(=N)N', // metformin
  'ONC(=O)CCCCCCC(=O)Nc1ccccc1', // vorinostat
  'CCC(=C(c1ccccc1)c1ccc(OCCN(C)C)cc1)c1ccccc1', // tamoxifen
  'CN1CCCC1c1cccnc1', // nicotine
  'C[C@@H]1C[C@H]2[C@@H]3CCC4=CC(=O)C=C[C@]4(C)[C@@]3(F)[C@@H](O)C[C@]2(C)[C@@]1(O)C(=O)CO', // dexamethasone
  'C[C@]12CC[C@H]3[C@@H](CCc4cc(O)ccc34)[C@@H]1CC[C@@H]2O', // estradiol
  'Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1', // celecoxib
];

export const geneId = (g: number) => String(10_000 + 3 * g);
export const drugId = (d: number) => `BRD-K${String(10_000_000 + 7919 * d).slice(0, 8)}-001-01-${d % 10}`;
export const drugSmiles = (d: number) => 'C'.repeat(Math.floor(d / BASE_SMILES.length)) + (BASE_SMILES[d % BASE_SMILES.length] as string);

/** A 32-bit integer hash (murmur3's finaliser): the deterministic source of every synthetic value. */
export function mix(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
