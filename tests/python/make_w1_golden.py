#!/usr/bin/python3
"""Golden exact-W1 values from POT (python3-pot), the reference the C++ network simplex is tested against.

    make_w1_golden.py A.txt B.txt [C.txt D.txt ...]

Each file holds one point set, one sample per line (whitespace-separated floats, written with 17
significant digits by tests/engine/test_metrics_transport.cpp). For every pair (A, B), (C, D), ... it
prints one line "w1 <value>" with ot.emd2 on uniform weights and the Euclidean ground cost, or exits
non-zero if POT reports that its solver did not converge. Run it by hand to inspect a case, e.g.
    /usr/bin/python3 tests/python/make_w1_golden.py a.txt b.txt
"""
import sys

import numpy as np
import ot


def exact_w1(a, b):
    cost = ot.dist(a, b, metric="euclidean")
    wa = np.full(len(a), 1.0 / len(a))
    wb = np.full(len(b), 1.0 / len(b))
    value, log = ot.emd2(wa, wb, cost, numItermax=50_000_000, log=True)
    if log.get("warning"):
        sys.exit("POT emd2 did not converge: %s" % log["warning"])
    return float(value)


def main(paths):
    if len(paths) == 0 or len(paths) % 2:
        sys.exit(__doc__)
    for first, second in zip(paths[0::2], paths[1::2]):
        a = np.loadtxt(first, ndmin=2, dtype=np.float64)
        b = np.loadtxt(second, ndmin=2, dtype=np.float64)
        print("w1 %.17g" % exact_w1(a, b))


if __name__ == "__main__":
    main(sys.argv[1:])
