#!/usr/bin/python3
"""POT's side of bench/w1_vs_pot.sh: exact W1 with ot.dist (Euclidean) + ot.emd2 on uniform weights.

  /usr/bin/python3 bench/pot_w1.py write X.f64 Y.f64 N DIM SEED   (two N x DIM point sets, pixel-like
      data in [-1, 1] with the second set darker, as the metric tests use; raw float64)
  /usr/bin/python3 bench/pot_w1.py time X.f64 Y.f64 N DIM [REPEATS]  (prints "pot emd2 W1 <v> seconds <median>")
"""
import statistics
import sys
import time

import numpy as np
import ot


def main():
    mode, fx, fy, n, dim = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    if mode == "write":
        rng = np.random.default_rng(int(sys.argv[6]))
        (rng.random((n, dim)) * 2 - 1).astype("<f8").tofile(fx)
        np.clip(rng.random((n, dim)) * 2 - 1.2, -1, 1).astype("<f8").tofile(fy)
        return
    repeats = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    x = np.fromfile(fx, dtype="<f8").reshape(n, dim)
    y = np.fromfile(fy, dtype="<f8").reshape(n, dim)
    w = np.full(n, 1.0 / n)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = ot.emd2(w, w, ot.dist(x, y, metric="euclidean"), numItermax=50_000_000)
        times.append(time.perf_counter() - t0)
    print(f"pot emd2 W1 {value:.12g} seconds {statistics.median(times):.4f}", flush=True)


if __name__ == "__main__":
    main()
