#!/usr/bin/env python3
"""scikit-learn's EM, timed the way bench/em.ts times webgmm.

    python3 bench/sklearn_em.py DATA.npy MODEL.json M RUNS

DATA.npy: N×D float64 points. MODEL.json: webgmm's initial model ({weights, means, covariances};
covariances D×D per component for full, D variances per component for diagonal). Every fit starts
from that model (weights_init, means_init, precisions_init = inverse covariances) with tol=0 and
reg_covar=1e-6, so it runs exactly max_iter EM iterations.

Seconds per iteration = (median fit time with max_iter=M+1 − median fit time with max_iter=1) / M,
medians over RUNS fits each: the difference cancels what every fit does once (input checks, the
initialization, the final E-step), leaving M iterations (E-step + M-step + lower bound).

Prints one JSON line: {"secondsPerIteration": ..., "sklearn": version, "threads": ..., ...}.
The BLAS thread settings are left as the environment has them (reported through threadpoolctl).
"""
import json
import platform
import statistics
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture


def thread_info():
    """BLAS/OpenMP libraries loaded and their thread counts (threadpoolctl, when available)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None, []
    libs = []
    for lib in threadpool_info():
        libs.append({key: lib.get(key) for key in
                     ('user_api', 'internal_api', 'version', 'num_threads', 'threading_layer', 'architecture')
                     if lib.get(key) is not None})
    blas = [lib['num_threads'] for lib in libs if lib.get('user_api') == 'blas' and 'num_threads' in lib]
    threads = max(blas) if blas else max((lib.get('num_threads', 0) for lib in libs), default=None)
    return threads, libs


def main():
    if len(sys.argv) != 5:
        sys.stderr.write('usage: sklearn_em.py DATA.npy MODEL.json M RUNS\n')
        sys.exit(2)
    data_path, model_path = sys.argv[1], sys.argv[2]
    m, runs = int(sys.argv[3]), int(sys.argv[4])
    if m < 1 or runs < 1:
        sys.stderr.write('M and RUNS must be positive integers\n')
        sys.exit(2)

    x = np.ascontiguousarray(np.load(data_path), dtype=np.float64)
    with open(model_path, encoding='utf-8') as f:
        model = json.load(f)
    weights = np.asarray(model['weights'], dtype=np.float64)
    weights = weights / weights.sum()
    means = np.asarray(model['means'], dtype=np.float64)
    covariances = np.asarray(model['covariances'], dtype=np.float64)
    k, d = means.shape
    if x.ndim != 2 or x.shape[1] != d:
        raise SystemExit(f'data has shape {x.shape} but the model has dimensionality {d}')
    if covariances.ndim == 3:
        covariance_type = 'full'
        precisions = np.linalg.inv(covariances)
        precisions = 0.5 * (precisions + np.transpose(precisions, (0, 2, 1)))
    else:
        covariance_type = 'diag'
        precisions = 1.0 / covariances

    warnings.filterwarnings('ignore', category=ConvergenceWarning)

    def fit(max_iter):
        gm = GaussianMixture(
            n_components=k,
            covariance_type=covariance_type,
            tol=0,
            reg_covar=1e-6,
            max_iter=max_iter,
            n_init=1,
            # Overridden by the *_init arguments; 'random_from_data' is the cheapest to compute.
            init_params='random_from_data',
            weights_init=weights,
            means_init=means,
            precisions_init=precisions,
            random_state=0,
        )
        t0 = time.perf_counter()
        gm.fit(x)
        seconds = time.perf_counter() - t0
        return seconds, int(gm.n_iter_)

    fit(1)  # warm-up: page in the data and the libraries
    short, long_, iterations = [], [], None
    for _ in range(runs):  # interleaved, so that drift affects both alike
        s, _ = fit(1)
        short.append(s)
        s, iterations = fit(m + 1)
        long_.append(s)
    seconds_per_iteration = (statistics.median(long_) - statistics.median(short)) / m
    threads, libs = thread_info()
    print(json.dumps({
        'secondsPerIteration': seconds_per_iteration,
        'sklearn': sklearn.__version__,
        'threads': threads,
        'blas': libs,
        'numpy': np.__version__,
        'python': platform.python_version(),
        'covarianceType': covariance_type,
        'n': int(x.shape[0]), 'd': int(d), 'k': int(k),
        'm': m,
        'runs': runs,
        'iterationsOfLongFit': iterations,
        'fitSecondsShort': short,  # max_iter = 1
        'fitSecondsLong': long_,  # max_iter = M + 1
        'perRun': [(b - a) / m for a, b in zip(short, long_)],
    }))


if __name__ == '__main__':
    main()
