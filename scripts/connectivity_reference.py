#!/usr/bin/env python3
"""Independent reference for CellShift's connectivity scores, written from the published
definitions (Subramanian et al. 2005 PNAS for the weighted KS enrichment score; Subramanian et al.
2017 Cell, "A Next Generation Connectivity Map", STAR Methods, for WTCS and NCS), with numpy only
and none of CellShift's code. It reads a GCT 1.3 file (genes as rows, signatures as columns) itself.

The query is one signature's top and bottom N genes. Every signature (column) is scored:
  ES    running sum over the genes sorted by score (descending; ties in file order): a hit adds
        |score| / (sum of |score| over the hits), a miss subtracts 1 / (genes - hits); ES is the
        running sum's largest deviation from zero (the maximum when max > -min, else the minimum).
  WTCS  (ES_up - ES_down) / 2 if sign(ES_up) != sign(ES_down), else 0.
  NCS   WTCS / mean of the positive WTCS (or / |mean of the negative WTCS|) among the signatures
        of the same cell line and perturbagen type.

Usage: connectivity_reference.py GCT SIGNATURE_ID [N] > scores.json
Values are read as float32 (as CellShift stores them) and computed in float64.
"""
import json
import sys

import numpy as np


def read_gct13(path):
    with open(path, encoding="utf-8") as f:
        assert f.readline().strip() == "#1.3", "not a GCT 1.3 file"
        n_rows, n_cols, n_row_meta, n_col_meta = (int(x) for x in f.readline().split("\t"))
        header = f.readline().rstrip("\n").split("\t")
        col_ids = header[1 + n_row_meta :]
        col_meta = {}
        for _ in range(n_col_meta):
            fields = f.readline().rstrip("\n").split("\t")
            col_meta[fields[0]] = fields[1 + n_row_meta :]
        row_ids, rows = [], []
        for _ in range(n_rows):
            fields = f.readline().rstrip("\n").split("\t")
            row_ids.append(fields[0])
            rows.append([float(x) for x in fields[1 + n_row_meta :]])
    values = np.asarray(rows, dtype=np.float32).astype(np.float64)
    assert values.shape == (n_rows, n_cols)
    return row_ids, col_ids, col_meta, values


def enrichment_score(scores, hits):
    n = len(scores)
    order = np.argsort(-scores, kind="stable")
    is_hit = np.zeros(n, dtype=bool)
    is_hit[hits] = True
    hit_sorted = is_hit[order]
    weights = np.abs(scores[order]) * hit_sorted
    total = weights.sum()
    if total <= 0:
        weights = hit_sorted.astype(np.float64)
        total = weights.sum()
    step = np.where(hit_sorted, weights / total, -1.0 / (n - hit_sorted.sum()))
    running = np.cumsum(step)
    top, bottom = running.max(), running.min()
    return top if top > -bottom else bottom


def main():
    path, signature = sys.argv[1], sys.argv[2]
    top_n = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    genes, columns, meta, values = read_gct13(path)
    query_scores = values[:, columns.index(signature)]
    order = np.argsort(-query_scores, kind="stable")
    up, down = order[:top_n], order[::-1][:top_n]
    wtcs = np.zeros(len(columns))
    for j in range(len(columns)):
        es_up = enrichment_score(values[:, j], up)
        es_down = enrichment_score(values[:, j], down)
        wtcs[j] = (es_up - es_down) / 2 if np.sign(es_up) != np.sign(es_down) else 0.0
    groups = [f"{c}|{t}" for c, t in zip(meta["cell_id"], meta["pert_type"])]
    ncs = np.zeros(len(columns))
    for g in set(groups):
        members = np.array([k for k, x in enumerate(groups) if x == g])
        w = wtcs[members]
        pos, neg = w[w > 0], w[w < 0]
        for k, v in zip(members, w):
            ncs[k] = v / pos.mean() if v > 0 else (v / abs(neg.mean()) if v < 0 else 0.0)
    json.dump(
        {
            "signature": signature,
            "up": [genes[i] for i in up],
            "down": [genes[i] for i in down],
            "scores": {c: {"wtcs": float(w), "ncs": float(x)} for c, w, x in zip(columns, wtcs, ncs)},
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
