#!/usr/bin/env python3
"""Reference values from Python RDKit for test/unit/chemistry.test.ts.

For each drug below: the parent fragment (salt handling as in src-main/chem/chemistry.ts: the
fragment with most heavy atoms, ties by larger exact mass, then smaller canonical SMILES), its
canonical SMILES (Chem.MolToSmiles), the dropped fragments, the Bemis-Murcko scaffold
(MurckoScaffold.GetScaffoldForMol -> MolToSmiles), Morgan on-bits (GetMorganFingerprintAsBitVect)
for several settings, and the standard InChIKey.

InChIKey: Chem.MolToInchiKey when this RDKit was built with InChI; otherwise (Debian's
python3-rdkit is built without it) the IUPAC reference executable `inchi_main` (Debian
libinchi-bin) run on RDKit's molfile; otherwise null.

Usage:
  /usr/bin/python3 scripts/make-rdkit-reference.py            # rewrite test/fixtures/rdkit-reference.json
  npx biome format --write test/fixtures/rdkit-reference.json # then restore the repository's JSON style
  /usr/bin/python3 scripts/make-rdkit-reference.py --stdout   # print the JSON (what the test does)

Needs: apt-get install python3-rdkit (and libinchi-bin for InChIKeys).
"""

import json
import os
import shutil
import subprocess
import sys

from rdkit import Chem, rdBase
from rdkit.Chem import AllChem, Descriptors
from rdkit.Chem.Scaffolds import MurckoScaffold

# name, SMILES as a metadata table would give it, why it is here
MOLECULES = [
    ("aspirin", "CC(=O)Oc1ccccc1C(=O)O", "small aromatic ester/acid"),
    ("caffeine", "Cn1cnc2c1c(=O)n(C)c(=O)n2C", "N-methyls on aromatic N: scaffold gets [nH]"),
    ("ibuprofen", "CC(C)Cc1ccc(cc1)C(C)C(O)=O", "racemic, non-canonical input order"),
    ("(S)-ibuprofen", "C[C@H](C(=O)O)c1ccc(CC(C)C)cc1", "chiral: chirality option changes bits"),
    ("imatinib", "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(n1)-c1cccnc1", "kinase inhibitor, linkers"),
    ("vorinostat", "ONC(=O)CCCCCCC(=O)Nc1ccccc1", "HDAC inhibitor, long side chain"),
    ("thalidomide", "O=C1CCC(N2C(=O)c3ccccc3C2=O)C(=O)N1", "racemic, exocyclic C=O kept in scaffold"),
    ("(R)-thalidomide", "O=C1CC[C@@H](N2C(=O)c3ccccc3C2=O)C(=O)N1", "stereocentre inside the scaffold"),
    (
        "dexamethasone",
        "C[C@@H]1C[C@H]2[C@@H]3CCC4=CC(=O)C=C[C@]4(C)[C@@]3(F)[C@@H](O)C[C@]2(C)[C@@]1(O)C(=O)CO",
        "8 stereocentres; substituents removed from stereocentres",
    ),
    ("tamoxifen", "CC/C(=C(\\c1ccccc1)c1ccc(OCCN(C)C)cc1)c1ccccc1", "E/Z double bond"),
    ("sunitinib", "CCN(CC)CCNC(=O)c1c(C)[nH]c(\\C=C2/C(=O)Nc3ccc(F)cc23)c1C", "stereo C=C between two rings (linker)"),
    ("bortezomib", "CC(C)C[C@H](NC(=O)[C@@H](Cc1ccccc1)NC(=O)c1cnccn1)B(O)O", "boron, two stereocentres"),
    ("(S)-nicotine", "CN1CCC[C@H]1c1cccnc1", "stereocentre kept in the scaffold"),
    ("paroxetine", "Fc1ccc(cc1)[C@@H]1CCNC[C@H]1COc1ccc2OCOc2c1", "two stereocentres, ether linker"),
    ("trichostatin A", "C[C@H](/C=C(\\C)/C=C/C(=O)NO)C(=O)c1ccc(N(C)C)cc1", "HDAC inhibitor, conjugated E,E diene"),
    ("berberine", "COc1ccc2cc3[n+](cc2c1OC)CCc1cc2OCOc2cc1-3", "permanent cation (aromatic N+)"),
    ("suxamethonium", "C[N+](C)(C)CCOC(=O)CCC(=O)OCC[N+](C)(C)C", "dication, acyclic: empty scaffold"),
    ("imatinib mesylate", "CS(=O)(=O)O.Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(n1)-c1cccnc1", "salt: parent = imatinib"),
    ("sodium valproate", "CCCC(CCC)C(=O)[O-].[Na+]", "salt of an anion, acyclic"),
    ("metformin hydrochloride", "Cl.CN(C)C(=N)N=C(N)N", "hydrochloride, acyclic"),
    ("pralidoxime chloride", "C[n+]1ccccc1/C=N/O.[Cl-]", "salt; N-methylpyridinium: scaffold [nH+]"),
    ("cisplatin", "N.N.Cl[Pt]Cl", "metal complex written as a mixture"),
]

FINGERPRINTS = [
    {"key": "r2_1024", "radius": 2, "nBits": 1024, "chirality": False},
    {"key": "r2_2048", "radius": 2, "nBits": 2048, "chirality": False},
    {"key": "r2_1024_chiral", "radius": 2, "nBits": 1024, "chirality": True},
    {"key": "r3_2048", "radius": 3, "nBits": 2048, "chirality": False},
]

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "test", "fixtures", "rdkit-reference.json")


def parent_fragment(mol):
    frags = [(f, Chem.MolToSmiles(f)) for f in Chem.GetMolFrags(mol, asMols=True)]
    # Same order as chemistry.ts: most heavy atoms, then larger exact mass, then smaller SMILES.
    frags.sort(key=lambda fs: (-fs[0].GetNumHeavyAtoms(), -round(Descriptors.ExactMolWt(fs[0]), 5), fs[1]))
    return frags[0], [s for _, s in frags[1:]]


def inchikey_function():
    try:
        from rdkit.Chem import inchi

        if inchi.INCHI_AVAILABLE:
            return "rdkit", lambda m: Chem.MolToInchiKey(m) or None
    except ImportError:
        pass
    exe = shutil.which("inchi_main") or shutil.which("inchi-1")
    if exe:

        def run(m):
            out = subprocess.run(
                [exe, "-STDIO", "-Key", "-AuxNone", "-NoLabels"],
                input=Chem.MolToMolBlock(m),
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout
            keys = [line.split("=", 1)[1].strip() for line in out.splitlines() if line.startswith("InChIKey=")]
            return keys[0] if keys else None

        return os.path.basename(exe), run
    return None, lambda m: None


def main():
    inchi_source, inchikey = inchikey_function()
    molecules = []
    for name, smiles, why in MOLECULES:
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            raise SystemExit(f"reference molecule {name} does not parse: {smiles}")
        (parent, parent_smiles), removed = parent_fragment(mol)
        scaffold = MurckoScaffold.GetScaffoldForMol(parent)
        molecules.append(
            {
                "name": name,
                "smiles": smiles,
                "why": why,
                "canonicalSmiles": parent_smiles,
                "removedFragments": removed,
                "inchiKey": inchikey(parent),
                "scaffoldSmiles": Chem.MolToSmiles(scaffold),
                "morganOnBits": {
                    fp["key"]: list(
                        AllChem.GetMorganFingerprintAsBitVect(
                            parent, fp["radius"], nBits=fp["nBits"], useChirality=fp["chirality"]
                        ).GetOnBits()
                    )
                    for fp in FINGERPRINTS
                },
            }
        )
    doc = {
        "generator": "scripts/make-rdkit-reference.py",
        "rdkitVersion": rdBase.rdkitVersion,
        "inchiSource": inchi_source,
        "fingerprints": FINGERPRINTS,
        "molecules": molecules,
    }
    text = json.dumps(doc, indent=1) + "\n"
    if "--stdout" in sys.argv[1:]:
        sys.stdout.write(text)
    else:
        with open(FIXTURE, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {os.path.normpath(FIXTURE)}: {len(molecules)} molecules, RDKit {rdBase.rdkitVersion}, InChIKey via {inchi_source}")
        print("now run: npx biome format --write test/fixtures/rdkit-reference.json")


if __name__ == "__main__":
    main()
