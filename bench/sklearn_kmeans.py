#!/usr/bin/env python3
"""scikit-learn's KMeans on the same data and start as bench/kmeans.ts.

    python3 bench/sklearn_kmeans.py DATA.npy CENTROIDS.npy RUNS

Fits KMeans(n_init=1) twice per run: from the given centroids with tol=0 (the same start and the
same stopping rule as webgmm, labels unchanged), and with sklearn's defaults (k-means++ seeding,
tol=1e-4), the way a user would call it. Prints one JSON line with the median seconds.
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
    same, default = [], []
    iters_same = iters_default = None
    for run in range(runs):
        t = time.perf_counter()
        km = KMeans(n_clusters=k, init=centroids, n_init=1, tol=0, max_iter=1000, algorithm='lloyd').fit(data)
        same.append(time.perf_counter() - t)
        iters_same = int(km.n_iter_)
        t = time.perf_counter()
        km2 = KMeans(n_clusters=k, n_init=1, random_state=run).fit(data)
        default.append(time.perf_counter() - t)
        iters_default = int(km2.n_iter_)
    print(json.dumps({
        'sklearn': sklearn.__version__,
        'sameStartSeconds': statistics.median(same),
        'sameStartIterations': iters_same,
        'sameStartInertia': float(km.inertia_),
        'defaultSeconds': statistics.median(default),
        'defaultIterations': iters_default,
        'defaultInertia': float(km2.inertia_),
    }))


if __name__ == '__main__':
    main()
