#!/usr/bin/python3
"""Independent golden values for Coalesce's ternary quantisers (tests/engine/test_ternary.cpp).

Usage: ternary_golden.py cases.json  ->  prints one JSON object {"cases": [...]} on stdout.

Each input case: {"w": [flat weights], "c": [flat loss coefficients], "delta": Δ, "ttq_t": t,
"ttq_wp": W_p, "ttq_wn": W_n}. The loss is L = Σ c·W_t. Everything is float64.

Written from the formulas in docs/METHOD.md stage 3, not from the C++ code: the learned quantiser's
scale is built from torch.distributions.Normal and differentiated by autograd; the straight-through
path is the usual `w - w.detach()` trick, so autograd supplies every gradient independently of the
hand-written backward in engine/quant/ternary_ops.cpp.
"""
import json
import sys

import torch

torch.set_default_dtype(torch.float64)
NORMAL = torch.distributions.Normal(torch.tensor(0.0), torch.tensor(1.0))


def learned(w_list, c_list, delta):
    w = torch.tensor(w_list, requires_grad=True)
    d = torch.tensor([delta], requires_grad=True)
    c = torch.tensor(c_list)
    mu = w.mean()
    sigma = w.std(unbiased=True)
    dc = torch.minimum(d.abs()[0], 3.0 * sigma)  # clip bound keeps its dependence on σ
    a = dc / sigma
    lam = torch.exp(NORMAL.log_prob(a)) / (1.0 - NORMAL.cdf(a))
    s = mu + sigma * lam
    with torch.no_grad():
        q = (w > mu + dc).double() - (w < mu - dc).double()
    w_t = q * s + (w - w.detach())  # value s·Q, ∂W_t/∂W = identity (STE) plus the path through s
    loss = (c * w_t).sum()
    loss.backward()
    return {
        "mean": mu.item(),
        "std": sigma.item(),
        "threshold": dc.item(),
        "scale": s.item(),
        "codes": q.tolist(),
        "grad_w": w.grad.tolist(),
        "grad_delta": d.grad.item(),
    }


def twn(w_list):
    w = torch.tensor(w_list)
    thr = 0.7 * w.abs().mean()
    above = w.abs() > thr
    alpha = w.abs()[above].mean() if above.any() else torch.tensor(0.0)
    out = alpha * torch.sign(w) * above.double()
    return {"threshold": thr.item(), "scale": alpha.item(), "output": out.tolist()}


def ttq(w_list, c_list, t, wp_value, wn_value):
    w = torch.tensor(w_list, requires_grad=True)
    wp = torch.tensor(wp_value, requires_grad=True)
    wn = torch.tensor(wn_value, requires_grad=True)
    c = torch.tensor(c_list)
    m = w.detach().abs().max()
    thr = t * m
    with torch.no_grad():
        pos = (w > thr).double()
        neg = (w < -thr).double()
        factor = pos * (wp / m) + (1.0 - pos - neg) + neg * (wn / m)
    values = pos * wp - neg * wn
    w_t = values + (w * factor - (w * factor).detach())  # TTQ's scaled straight-through gradient
    (c * w_t).sum().backward()
    return {
        "output": values.tolist(),
        "grad_w": w.grad.tolist(),
        "grad_wp": wp.grad.item(),
        "grad_wn": wn.grad.item(),
    }


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)["cases"]
    out = []
    for case in cases:
        out.append({
            "learned": learned(case["w"], case["c"], case["delta"]),
            "twn": twn(case["w"]),
            "ttq": ttq(case["w"], case["c"], case["ttq_t"], case["ttq_wp"], case["ttq_wn"]),
        })
    json.dump({"cases": out}, sys.stdout)


if __name__ == "__main__":
    main()
