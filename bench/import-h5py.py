# Reference reader for bench/import.ts: what CellShift's GCTX reader reads when it opens a file (the
# row and column ids and every metadata column under /0/META, decoded to Python strings / arrays)
# and then the landmark subset (all samples x the first N genes) of the matrix with h5py, in blocks
# of rows, the way CellShift's GCTX reader does (one hyperslab per block, HDF5's default chunk
# cache), into one reused buffer.
#
#   /usr/bin/python3 bench/import-h5py.py FILE N_GENES BLOCK_ROWS CHECKSUM_STRIDE
#
# Prints one JSON line: seconds (open + read), checksum (sum of squares in float64 of every
# CHECKSUM_STRIDE-th sample's values, as CellShift's reader side computes it), peak RSS in kB, main-thread CPU and run-queue seconds,
# and the whole process's CPU seconds (user + system) over the timed part.
import json
import resource
import sys
import time

import h5py
import numpy as np


def schedstat() -> "tuple[float, float]":
    """Main thread's seconds on a CPU and waiting for one (Linux), like bench/import.ts."""
    try:
        with open("/proc/self/schedstat") as f:
            cpu, queue = f.read().split()[:2]
        return int(cpu) / 1e9, int(queue) / 1e9
    except (OSError, ValueError):
        return float("nan"), float("nan")


def read_metadata(f: "h5py.File") -> int:
    """Every dataset under /0/META/ROW and /0/META/COL, strings decoded (as the reader does)."""
    values = 0
    for group in ("/0/META/ROW", "/0/META/COL"):
        for name, ds in f[group].items():
            data = ds[()]
            if data.dtype.kind in "SO":
                data = [v.decode() if isinstance(v, bytes) else str(v) for v in data]
            values += len(data)
    return values


def main() -> None:
    path, n_genes, block, stride = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    cpu0, queue0 = schedstat()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    with h5py.File(path, "r") as f:
        meta_values = read_metadata(f)
        ds = f["/0/DATA/0/matrix"]
        n_samples = ds.shape[0]
        buf = np.empty((block, n_genes), dtype=np.float32)
        sumsq = 0.0
        head: list = []
        opened = time.perf_counter()
        for s0 in range(0, n_samples, block):
            s1 = min(n_samples, s0 + block)
            out = buf[: s1 - s0]
            ds.read_direct(out, np.s_[s0:s1, 0:n_genes], np.s_[0 : s1 - s0, 0:n_genes])
            rows = out[(-s0) % stride :: stride]
            sumsq += float(np.einsum("ij,ij->", rows, rows, dtype=np.float64))
            if s0 == 0:
                head = [float(v) for v in out[0, :4]]
    done = time.perf_counter()
    cpu1, queue1 = schedstat()
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "seconds": done - t0,
                "openSeconds": opened - t0,
                "samples": n_samples,
                "metadataValues": meta_values,
                "genes": n_genes,
                "checksum": sumsq,
                "head": head,
                "peakRssKb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "sched": {"cpu": cpu1 - cpu0, "queue": queue1 - queue0},
                "processCpu": (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime),
                "h5py": h5py.__version__,
                "hdf5": h5py.version.hdf5_version,
            }
        )
    )


if __name__ == "__main__":
    main()
