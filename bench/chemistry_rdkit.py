"""Python RDKit reference for bench/chemistry.ts: the import's structure work on a list of SMILES,
done the way CellShift's Chemistry.describe does it (depiction and InChIKey off):
parent = the fragment with the most heavy atoms (ties: larger exact mass, then smaller canonical
SMILES), re-read from its SMILES; its canonical SMILES; its Bemis-Murcko scaffold SMILES; its
Morgan fingerprint (radius 2, 1024 bits).

  /usr/bin/python3 bench/chemistry_rdkit.py SMILES_FILE OUT_FILE [PROCESSES]
PROCESSES (default 1): with 2 or more, a multiprocessing pool of that many forked processes (started
and warmed before the clock starts) describes the list in chunks, as both cores would be used.
SMILES_FILE: one SMILES per line. OUT_FILE gets one line per SMILES: "canonical<TAB>scaffold<TAB>
on-bits (comma-separated)", or "!" for a SMILES RDKit refuses. Prints one JSON line on stdout:
{"molecules", "valid", "seconds", "cpu_seconds", "mol_per_s", "rdkit", "python", "configuration"};
seconds (wall) and cpu_seconds (this process's CPU time, and its pool processes' with PROCESSES > 1)
cover the work only (not reading the file, starting the pool or writing the results).

At its best, as far as measured (RDKit 2022.09, 4,000 LINCS SMILES, CPU time): counting fragments
before building them saves 30%; rdFingerprintGenerator's Morgan generator (made once) and calling
Chem.MurckoDecompose directly gave the same results at the same speed (within 2%), so the classic
calls stay.
"""

import json
import multiprocessing
import os
import sys
import time

from rdkit import Chem, RDLogger, rdBase
from rdkit.Chem import AllChem, Descriptors
from rdkit.Chem.Scaffolds import MurckoScaffold


def parent_of(mol):
    # Count the components first (atom index tuples, no copies): building sanitized fragment
    # molecules for every single-component drug was 30% of this script's time.
    if len(Chem.GetMolFrags(mol)) == 1:
        return mol
    fragments = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=True)
    ranked = sorted(
        fragments,
        key=lambda f: (-f.GetNumHeavyAtoms(), -Descriptors.ExactMolWt(f), Chem.MolToSmiles(f)),
    )
    return Chem.MolFromSmiles(Chem.MolToSmiles(ranked[0]))


CONFIGURATION = (
    "MolFromSmiles, fragments counted before any is built, "
    "MolToSmiles, MurckoScaffold.GetScaffoldForMol + MolToSmiles, "
    "GetMorganFingerprintAsBitVect(radius 2, 1024 bits); RDKit logging off"
)


def describe(smiles):
    mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    parent = parent_of(mol)
    if parent is None:
        return None
    canonical = Chem.MolToSmiles(parent)
    scaffold = Chem.MolToSmiles(MurckoScaffold.GetScaffoldForMol(parent))
    fp = AllChem.GetMorganFingerprintAsBitVect(parent, 2, nBits=1024)
    return canonical, scaffold, list(fp.GetOnBits())


def quiet():
    RDLogger.DisableLog("rdApp.*")


def cpu_time():
    """CPU seconds of this process and of its finished or waited-for children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def process_cpu(pid):
    """CPU seconds a live process has used (Linux /proc), its user plus system time."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    quiet()
    with open(sys.argv[1]) as f:
        smiles = [line.rstrip("\n") for line in f]
    processes = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    if processes > 1:
        # Forked after RDKit is imported; warmed so the clock sees no start-up. Chunks of 256 keep
        # both processes busy to the end while pickling little.
        chunk = 256
        with multiprocessing.get_context("fork").Pool(processes, initializer=quiet) as pool:
            pool.map(describe, smiles[: processes * 8], chunksize=8)
            workers_cpu = [p.pid for p in pool._pool]
            started = time.perf_counter()
            cpu_started = sum(process_cpu(pid) for pid in workers_cpu) + time.process_time()
            results = pool.map(describe, smiles, chunksize=chunk)
            seconds = time.perf_counter() - started
            cpu_seconds = sum(process_cpu(pid) for pid in workers_cpu) + time.process_time() - cpu_started
        configuration = f"{processes} processes (multiprocessing fork pool, chunks of {chunk}, started and warmed before timing); {CONFIGURATION}"
    else:
        started, cpu_started = time.perf_counter(), time.process_time()
        results = [describe(s) for s in smiles]
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        configuration = f"one process, one thread; {CONFIGURATION}"
    with open(sys.argv[2], "w") as out:
        for r in results:
            out.write("!\n" if r is None else f"{r[0]}\t{r[1]}\t{','.join(map(str, r[2]))}\n")
    valid = sum(r is not None for r in results)
    print(
        json.dumps(
            {
                "molecules": len(smiles),
                "valid": valid,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "mol_per_s": len(smiles) / seconds,
                "rdkit": rdBase.rdkitVersion,
                "python": sys.version.split()[0],
                "configuration": configuration,
            }
        )
    )


if __name__ == "__main__":
    main()
