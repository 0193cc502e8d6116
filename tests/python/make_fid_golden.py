#!/usr/bin/python3
"""Golden FID and unbiased-KID values computed the classic way (scipy.linalg.sqrtm, as pytorch-fid does),
independent of Coalesce's eigen-decomposition route.

    make_fid_golden.py A.txt B.txt

A and B hold one feature vector per line. Prints "fid <value>" (unbiased covariances, real part of
sqrtm(S1 S2)) and "mmd2 <value>" (unbiased MMD² with k(x, y) = (x.y/d + 1)^3 on all rows, one block).
"""
import sys

import numpy as np
from scipy import linalg


def fid(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(root.real))


def mmd2(a, b):
    d = a.shape[1]
    k = lambda x, y: (x @ y.T / d + 1) ** 3
    n, m = len(a), len(b)
    kxx, kyy, kxy = k(a, a), k(b, b), k(a, b)
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * kxy.mean())


def main(paths):
    if len(paths) != 2:
        sys.exit(__doc__)
    a = np.loadtxt(paths[0], ndmin=2, dtype=np.float64)
    b = np.loadtxt(paths[1], ndmin=2, dtype=np.float64)
    print("fid %.17g" % fid(a, b))
    print("mmd2 %.17g" % mmd2(a, b))


if __name__ == "__main__":
    main(sys.argv[1:])
