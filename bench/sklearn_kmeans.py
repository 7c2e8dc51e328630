#!/usr/bin/env python3
"""scikit-learn's KMeans on the same data and start as bench/kmeans.ts.

    python3 bench/sklearn_kmeans.py DATA.npy CENTROIDS.npy RUNS

Fits KMeans(n_init=1) twice per run: from the given centroids with tol=0 (the same start and the
same stopping rule as webgmm, labels unchanged), and with sklearn's defaults (k-means++ seeding,
tol=1e-4), the way a user would call it. One untimed fit of each first (warm-up, as bench/kmeans.ts
warms its own). Prints one JSON line: median seconds and iterations, and every run's.
"""
import json
import statistics
import sys
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans


def main():
    data = np.load(sys.argv[1])
    centroids = np.load(sys.argv[2])
    runs = int(sys.argv[3])
    k = centroids.shape[0]
    def same_start():
        return KMeans(n_clusters=k, init=centroids, n_init=1, tol=0, max_iter=1000, algorithm='lloyd').fit(data)

    def defaults(run):
        return KMeans(n_clusters=k, n_init=1, random_state=run).fit(data)

    same_start()
    defaults(runs)
    same, default, iters_same, iters_default, inertia_default = [], [], [], [], []
    for run in range(runs):
        t = time.perf_counter()
        km = same_start()
        same.append(time.perf_counter() - t)
        iters_same.append(int(km.n_iter_))
        t = time.perf_counter()
        km2 = defaults(run)
        default.append(time.perf_counter() - t)
        iters_default.append(int(km2.n_iter_))
        inertia_default.append(float(km2.inertia_))
    print(json.dumps({
        'sklearn': sklearn.__version__,
        'sameStartSeconds': statistics.median(same),
        'sameStartIterations': statistics.median(iters_same),
        'sameStartInertia': float(km.inertia_),
        'defaultSeconds': statistics.median(default),
        'defaultIterations': statistics.median(iters_default),
        'defaultInertia': statistics.median(inertia_default),
        'sameStartRuns': same,
        'sameStartIterationsPerRun': iters_same,
        'defaultRuns': default,
        'defaultIterationsPerRun': iters_default,
        'defaultInertiaPerRun': inertia_default,
    }))


if __name__ == '__main__':
    main()
