#!/usr/bin/python3
"""Expected contents of the cmapPy fixtures, computed independently of CellShift's readers.

GCTX files are read with h5py (Debian python3-h5py); GCT files with a few lines of plain Python
following the GCT 1.2/1.3 specification. Conventions follow cmapPy: the GCTX matrix is stored
[n_cols, n_rows] (samples first) and is reported here as the GCT matrix [n_rows][n_cols];
metadata "-666" (text or number), empty strings and NaN are null; GCT metadata columns whose
non-missing values are all numbers are numeric. Matrix values are rounded to float32 (what the
readers return) and written as JSON numbers; missing values are null.

Usage:
  /usr/bin/python3 scripts/gen-format-fixtures.py            # rewrite test/fixtures/cmapPy/expected.json (then biome-formats it)
  /usr/bin/python3 scripts/gen-format-fixtures.py --stdout   # print the JSON (used by the tests)
"""

import json
import math
import os
import subprocess
import sys

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# cmapPy's files are read from ../shared beside the clone; expected.json (ours) stays in the repository.
SOURCES = os.path.join(os.path.dirname(ROOT), "shared", "fixtures", "cmapPy")
FIXTURES = os.path.join(ROOT, "test", "fixtures", "cmapPy")
MISSING_TEXT = {"", "-666", "-666.0", "-666.00"}
NAN_TEXT = {"", "NA", "na", "NaN", "nan", "NAN", "-nan", "-NaN", "N/A", "#N/A", "NULL", "null", "#NA", "-666"}


def f32(x):
    v = float(np.float32(x))
    return None if math.isnan(v) else v


def meta_value_h5(v):
    if isinstance(v, bytes):
        s = v.decode("ascii")
        return None if s in ("", "-666") else s
    if isinstance(v, (np.integer,)):
        return None if int(v) == -666 else int(v)
    if isinstance(v, (np.floating,)):
        f = float(v)
        return None if math.isnan(f) or f == -666 else f
    raise TypeError(type(v))


def read_gctx(path):
    with h5py.File(path, "r") as f:
        m = f["/0/DATA/0/matrix"][()]
        row_ids = [x.decode("ascii") for x in f["/0/META/ROW/id"][()]]
        col_ids = [x.decode("ascii") for x in f["/0/META/COL/id"][()]]
        assert m.shape == (len(col_ids), len(row_ids)), "cmapPy stores the matrix samples first"
        version = f.attrs["version"]
        if isinstance(version, np.ndarray):
            version = version[0]
        if isinstance(version, bytes):
            version = version.decode("ascii")

        def meta(group):
            out = {}
            for name in f[group].keys():  # h5py lists names in the same (alphabetical) order as h5wasm
                if name == "id":
                    continue
                out[name] = [meta_value_h5(v) for v in f[group + "/" + name][()]]
            return out

        return {
            "format": "gctx",
            "version": version,
            "matrixShape": list(m.shape),
            "matrixDtype": m.dtype.str,
            "rowIds": row_ids,
            "colIds": col_ids,
            "rowMeta": meta("/0/META/ROW"),
            "colMeta": meta("/0/META/COL"),
            # GCT orientation: values[row][col]
            "values": [[f32(m[c, r]) for c in range(m.shape[0])] for r in range(m.shape[1])],
        }


def type_text_column(values):
    def is_num(s):
        try:
            float(s)
            return s.strip() == s and not s.lower().startswith(("n", "i", "+i", "-i", "-n", "+n"))
        except ValueError:
            return False

    present = [v for v in values if v not in MISSING_TEXT]
    numeric = all(is_num(v) for v in present)
    out = []
    for v in values:
        if v in MISSING_TEXT:
            out.append(None)
        elif numeric:
            out.append(int(v) if v.lstrip("+-").isdigit() else float(v))
        else:
            out.append(v)
    return out


def value_cell(s):
    if s in NAN_TEXT:
        return None
    v = float(s)
    return None if v == -666 else f32(v)


def read_gct(path):
    with open(path, encoding="utf-8") as fh:
        lines = [line.rstrip("\r\n") for line in fh]
    while lines and lines[-1] == "":
        lines.pop()

    def fields(line, n=None):
        parts = line.split("\t")
        if n is not None:
            while len(parts) > n and parts[-1] == "":
                parts.pop()
        return parts

    version = lines[0].split("\t")[0].strip()[1:]
    if version == "1.2":
        n_rows, n_cols = (int(x) for x in fields(lines[1], 2))
        n_rmeta, n_cmeta = 1, 0
    else:
        n_rows, n_cols, n_rmeta, n_cmeta = (int(x) for x in fields(lines[1], 4))
    lead = 1 + n_rmeta
    header = fields(lines[2], lead + n_cols)
    rmeta_names = ["Description"] if version == "1.2" else header[1:lead]
    col_ids = header[lead:]
    col_meta = {}
    for k in range(n_cmeta):
        parts = fields(lines[3 + k], lead + n_cols)
        col_meta[parts[0]] = type_text_column(parts[lead:])
    data = [fields(line, lead + n_cols) for line in lines[3 + n_cmeta:]]
    assert len(data) == n_rows and all(len(p) == lead + n_cols for p in data)
    return {
        "format": "gct",
        "version": version,
        "rowIds": [p[0] for p in data],
        "colIds": col_ids,
        "rowMeta": {name: type_text_column([p[1 + i] for p in data]) for i, name in enumerate(rmeta_names)},
        "colMeta": col_meta,
        "values": [[value_cell(x) for x in p[lead:]] for p in data],
    }


def main():
    expected = {}
    for name in sorted(os.listdir(SOURCES)):
        path = os.path.join(SOURCES, name)
        if name.endswith(".gctx"):
            expected[name] = read_gctx(path)
        elif name.endswith(".gct"):
            expected[name] = read_gct(path)
    text = json.dumps(expected, indent=1, sort_keys=True) + "\n"
    if "--stdout" in sys.argv:
        sys.stdout.write(text)
    else:
        target = os.path.join(FIXTURES, "expected.json")
        with open(target, "w", encoding="utf-8") as out:
            out.write(text)
        # Lay it out the way the repository's formatter wants (the tests compare parsed values).
        subprocess.run(["npx", "biome", "format", "--write", target], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
