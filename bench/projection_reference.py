"""Python references for bench/projection.ts (Debian's numpy, scikit-learn, umap-learn).

  /usr/bin/python3 bench/projection_reference.py pca DATA ROWS COLS K OURS_AXES OURS_VARIANCE
      DATA: ROWS x COLS float32 (row-major). Times sklearn's randomized PCA, then computes the exact
      PCA (float64 covariance, eigh) and compares it with ours (K x COLS float64 axes, K float64
      variances). Prints one JSON line.
  /usr/bin/python3 bench/projection_reference.py umap POINTS ROWS COLS INIT NEIGHBORS EPOCHS OUT
      umap-learn on the same points (float32 ROWS x COLS) from the same start (INIT: ROWS x 2
      float32), after a warm-up fit on 5,000 points (pynndescent included) so numba's compilation is not timed. Writes the
      embedding (ROWS x 2 float32) to OUT and prints one JSON line.
"""

import json
import os
import sys
import time

import numpy as np


def pca(path, rows, cols, k, axes_path, variance_path):
    from sklearn import __version__ as sklearn_version
    from sklearn.decomposition import PCA

    x = np.fromfile(path, dtype=np.float32).reshape(rows, cols)
    t0 = time.perf_counter()
    reference = PCA(n_components=k, svd_solver="randomized", random_state=0).fit(x)
    randomized_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    mean = x.mean(axis=0, dtype=np.float64)
    covariance = np.zeros((cols, cols))
    for start in range(0, rows, 50_000):
        block = x[start : start + 50_000].astype(np.float64) - mean
        covariance += block.T @ block
    covariance /= rows - 1
    values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1][:k]
    exact_values, exact_axes = values[order], vectors[:, order].T
    exact_seconds = time.perf_counter() - t0

    ours_axes = np.fromfile(axes_path, dtype=np.float64).reshape(k, cols)
    ours_variance = np.fromfile(variance_path, dtype=np.float64)
    print(
        json.dumps(
            {
                "sklearn": sklearn_version,
                "numpy": np.__version__,
                "blas": blas_name(),
                "randomized_seconds": randomized_seconds,
                "exact_seconds": exact_seconds,
                "ours": accuracy(ours_axes, ours_variance, exact_axes, exact_values),
                "sklearn_accuracy": accuracy(reference.components_, reference.explained_variance_, exact_axes, exact_values),
            }
        )
    )


def accuracy(axes, variance, exact_axes, exact_values):
    """Axes and variances against the exact PCA's: per-axis |cos|, relative variance errors, and
    the smallest cosine of the principal angles between the two k-dimensional subspaces."""
    cosines = np.abs(np.sum(axes * exact_axes, axis=1))
    errors = np.abs(variance - exact_values) / exact_values
    return {
        "leading_axes_cos_above_0_999": int(np.argmin(np.append(cosines, 0) > 0.999)),
        "axis_cosine_min_top10": float(np.min(cosines[:10])),
        "variance_relative_error_top10": float(np.max(errors[:10])),
        "variance_relative_error_max": float(np.max(errors)),
        "subspace_cosine_min": float(np.min(np.linalg.svd(axes @ exact_axes.T, compute_uv=False))),
        "variance_captured_ratio": float(np.sum(variance) / np.sum(exact_values)),
    }


def blas_name():
    try:
        from threadpoolctl import threadpool_info

        return ", ".join(f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)" for i in threadpool_info())
    except Exception:  # threadpoolctl is optional
        return "unknown"


def run_umap(path, rows, cols, init_path, neighbors, epochs, out_path):
    import numba
    import pynndescent
    import umap

    x = np.fromfile(path, dtype=np.float32).reshape(rows, cols)
    init = np.fromfile(init_path, dtype=np.float32).reshape(rows, 2).astype(np.float64)
    # 5,000 points: above umap-learn's 4,096-point cut-off, so pynndescent's code is compiled too.
    warm = min(5000, rows)
    umap.UMAP(n_neighbors=neighbors, n_epochs=epochs, init=init[:warm], min_dist=0.1).fit(x[:warm])
    t0 = time.perf_counter()
    # No random_state: umap-learn then runs its layout in parallel (its fastest configuration).
    reducer = umap.UMAP(n_neighbors=neighbors, n_epochs=epochs, init=init, min_dist=0.1)
    embedding = reducer.fit_transform(x)
    seconds = time.perf_counter() - t0
    embedding.astype(np.float32).tofile(out_path)
    print(
        json.dumps(
            {
                "umap": umap.__version__,
                "numba": numba.__version__,
                "pynndescent": pynndescent.__version__,
                "numba_threads": numba.config.NUMBA_NUM_THREADS,
                "cpus": os.cpu_count(),
                "seconds": seconds,
                "configuration": f"UMAP(n_neighbors={neighbors}, n_epochs={epochs}, min_dist=0.1, init=<same start>, random_state=None, low_memory=True, metric='euclidean')",
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1] == "pca":
        pca(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7])
    else:
        run_umap(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6]), int(sys.argv[7]), sys.argv[8])
