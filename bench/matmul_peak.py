#!/usr/bin/python3
"""The machine's matrix-product peak on the library Coalesce links (Debian's LibTorch 1.13 through
python3-torch): GFLOP/s of an N x N x N product in float32 and in bfloat16 (oneDNN's AMX or AVX512-BF16
kernels where the CPU has them), median of --repeats after a warm-up. bench/peer_compare.sh sets the
engine's training throughput against these two figures.

  /usr/bin/python3 bench/matmul_peak.py --threads 1 [--size 2048] [--repeats 5]
"""
import argparse
import statistics
import time

import torch


def peak(dtype, n, repeats):
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    return 2.0 * n ** 3 / statistics.median(times) / 1e9


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    fp32 = peak(torch.float32, a.size, a.repeats)
    bf16 = peak(torch.bfloat16, a.size, a.repeats)
    print(f"matmul {a.size} threads {a.threads}: fp32 {fp32:.0f} GFLOP/s, bf16 {bf16:.0f} GFLOP/s", flush=True)


if __name__ == "__main__":
    main()
