#!/usr/bin/env python3
"""scikit-learn's GaussianMixture on the quality benchmark's splits (bench/quality.ts runs this).

    /usr/bin/python3 bench/sklearn_quality.py CASES.json

CASES.json: a list of {"id", "train", "test", "labels" (optional), "k", "covariance": "full"|"diag",
"seed"}; "train"/"test" are paths of N×D float64 .npy files, "labels" of an int64 .npy file with the
test points' class labels. Every case is fitted as scikit-learn users fit it: GaussianMixture(
n_components=k, covariance_type, reg_covar=1e-6, n_init=3, random_state=seed), its other settings
left at their defaults (k-means initialization, tol=1e-3, max_iter=100).

Prints one JSON line per case: {"id", "heldOutLogLikelihood" (mean log p(x) over the test points),
"trainLogLikelihood" (mean over the training points), "predictions" (test points' components),
"ari" (sklearn.metrics.adjusted_rand_score of the predictions against the labels, or null),
"converged", "iterations", "seconds"}; a first line {"sklearn": version, "python": version}.
"""
import json
import math
import platform
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture


def main():
    if len(sys.argv) != 2:
        sys.stderr.write('usage: sklearn_quality.py CASES.json\n')
        sys.exit(2)
    with open(sys.argv[1], encoding='utf-8') as f:
        cases = json.load(f)
    warnings.filterwarnings('ignore', category=ConvergenceWarning)
    print(json.dumps({'sklearn': sklearn.__version__, 'python': platform.python_version()}), flush=True)
    for case in cases:
        x = np.ascontiguousarray(np.load(case['train']), dtype=np.float64)
        t = np.ascontiguousarray(np.load(case['test']), dtype=np.float64)
        start = time.perf_counter()
        gm = GaussianMixture(
            n_components=case['k'],
            covariance_type=case['covariance'],
            reg_covar=1e-6,
            n_init=3,
            random_state=case['seed'],
        )
        out = {'id': case['id']}
        try:
            gm.fit(x)
            out['seconds'] = time.perf_counter() - start
            out['heldOutLogLikelihood'] = finite_or_text(float(gm.score(t)))
            out['trainLogLikelihood'] = finite_or_text(float(gm.score(x)))
            pred = gm.predict(t)
            out['predictions'] = [int(v) for v in pred]
            out['converged'] = bool(gm.converged_)
            out['iterations'] = int(gm.n_iter_)
            if case.get('labels'):
                labels = np.load(case['labels']).ravel()
                out['ari'] = float(adjusted_rand_score(labels, pred))
            else:
                out['ari'] = None
        except Exception as e:  # a failed fit is a result too (e.g. an ill-defined covariance)
            out['error'] = f'{type(e).__name__}: {e}'
        print(json.dumps(out), flush=True)


def finite_or_text(v):
    """JSON has no infinities: a held-out point of zero density (score -inf) is written as the text
    '-Infinity', which bench/quality.ts reads back as a number, rather than as invalid JSON."""
    return v if math.isfinite(v) else str(v).replace('inf', 'Infinity').replace('nan', 'NaN')


if __name__ == '__main__':
    main()
