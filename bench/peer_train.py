#!/usr/bin/python3
"""The peer of bench_train: the same WGAN-GP work written the way a PyTorch user would, in plain
PyTorch-Python on Debian's python3-torch (the same LibTorch 1.13 the engine links), so that the two
can be timed side by side (bench/peer_compare.sh alternates them and reports the ratio).

Same work as build/bench/bench_train: the dcgan32 `paper` or `small` networks of
tests/python/coalesce_nets.py (layer-for-layer those of engine/models/networks.cpp), 1024 random
images, K critics each on the same data, batch B, n_critic critic steps per critic per generator
step, standard gradient penalty (gamma 10, one forward over real and fake together), Adam 1e-4
(0.5, 0.999), the generator loss -sum_k lambda_k E D_k(G(z)) with lambda_k = 1/K and the critics'
parameters frozen meanwhile. Timing as bench_train: after --warmup iterations, --windows windows of
--per-window iterations; the median window rate is reported.

It also prints an estimate of the floating-point work of one iteration, from the networks' own
forward multiply-adds counted with hooks (so the figure follows the architecture), by this rule:
a forward costs F, a backward 2F; one critic step = the critic on 2B samples forward and backward
(6 F_D B) + G forward on B (F_G B) + the gradient penalty on B mixed samples (forward, input
gradient with create_graph, and the backward of both: about 6 F_D B); the generator step =
G forward and backward (3 F_G B) + each critic forward and input-gradient (2 F_D B).

--precision bf16 runs every forward under torch.autocast("cpu", dtype=torch.bfloat16) (convolutions,
transposed convolutions and linear layers in bf16 where oneDNN has AMX/AVX512-BF16 kernels; norms,
losses and the gradient penalty's reductions stay fp32: scores are cast back before any loss, and the
input gradient of the penalty is fp32 because the input is), with fp32 weights and Adam state. It
measures what mixed precision would give the engine on this CPU (bench/README.md, issue "speed").

--profile adds a per-phase table of the timed windows: seconds per iteration in each phase of the loop
(the phases are cut with wall-clock stamps; on a CPU every operation has finished when it returns).

Two variants that were tried for speed and lost (bench/README.md, "What else was tried"): --channels-last
(networks and images in NHWC, oneDNN's native layout) and --decomposed-instance-norm (the critic's
InstanceNorm2d written as mean/var/rsqrt ops, whose double backward is plain element-wise work).

  /usr/bin/python3 bench/peer_train.py --preset paper --critics 1 --threads 1 [--precision bf16] [--profile]
"""
import contextlib
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
import coalesce_nets  # noqa: E402


def forward_flops_per_sample(module, example):
    """2 x the multiply-adds of one forward of `module` on `example`, divided by the batch size."""
    macs = [0]

    def hook(layer, inputs, output):
        if isinstance(layer, torch.nn.Conv2d):
            k = layer.kernel_size[0] * layer.kernel_size[1]
            macs[0] += output.numel() * (layer.in_channels // layer.groups) * k
        elif isinstance(layer, torch.nn.ConvTranspose2d):
            k = layer.kernel_size[0] * layer.kernel_size[1]
            macs[0] += inputs[0].numel() * (layer.out_channels // layer.groups) * k
        elif isinstance(layer, torch.nn.Linear):
            macs[0] += output.numel() * layer.in_features

    handles = [m.register_forward_hook(hook) for m in module.modules() if m is not module]
    with torch.no_grad():
        module(example)
    for h in handles:
        h.remove()
    return 2.0 * macs[0] / example.size(0)


def iteration_flops(f_g, f_d, batch, critics, n_critic):
    critic_step = 12 * f_d * batch + f_g * batch
    generator_step = 3 * f_g * batch + critics * 2 * f_d * batch
    return critics * n_critic * critic_step + generator_step


def gradient_penalty(critic, real, fake, precision=contextlib.nullcontext):
    eps = torch.rand(real.size(0), 1, 1, 1)
    mixed = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
    with precision():
        scores = critic(mixed).float()
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True, retain_graph=True)
    norms = (grad.pow(2).flatten(1).sum(1) + 1e-12).sqrt()
    return (norms - 1).pow(2).mean()


class DecomposedInstanceNorm(torch.nn.Module):
    """InstanceNorm2d (affine, biased variance) from mean/var/rsqrt ops: same values to ~1e-7."""

    def __init__(self, norm):
        super().__init__()
        self.weight, self.bias, self.eps = norm.weight, norm.bias, norm.eps

    def forward(self, x):
        centred = x - x.mean((2, 3), keepdim=True)
        variance = (centred * centred).mean((2, 3), keepdim=True)
        return centred * torch.rsqrt(variance + self.eps) * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class PhaseClock:
    """Wall seconds per named phase: clock.lap("name") charges the time since the previous lap."""

    def __init__(self):
        self.totals = {}
        self.on = False
        self.t = time.perf_counter()

    def lap(self, name):
        now = time.perf_counter()
        if self.on:
            self.totals[name] = self.totals.get(name, 0.0) + now - self.t
        self.t = now


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", default="paper", choices=["paper", "small"])
    p.add_argument("--critics", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--n-critic", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--windows", type=int, default=5)
    p.add_argument("--per-window", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--channels-last", action="store_true", help="NHWC networks and images")
    p.add_argument("--decomposed-instance-norm", action="store_true",
                   help="the critic's InstanceNorm2d as mean/var/rsqrt ops")
    p.add_argument("--profile", action="store_true", help="print seconds per iteration in each phase")
    a = p.parse_args()
    if a.precision == "bf16":
        precision = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
    else:
        precision = contextlib.nullcontext
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    arch = coalesce_nets.preset("dcgan32", a.preset, 1)
    g = coalesce_nets.Generator(arch)
    critics = [coalesce_nets.Critic(arch) for _ in range(a.critics)]
    if a.decomposed_instance_norm:
        for d in critics:
            for i, module in enumerate(d.net):
                if isinstance(module, torch.nn.InstanceNorm2d):
                    d.net[i] = DecomposedInstanceNorm(module)
    if a.channels_last:
        g = g.to(memory_format=torch.channels_last)
        critics = [d.to(memory_format=torch.channels_last) for d in critics]
    adam = dict(lr=1e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(g.parameters(), **adam)
    opt_d = [torch.optim.Adam(d.parameters(), **adam) for d in critics]
    data = torch.rand(1024, 1, 32, 32) * 2 - 1
    if a.channels_last:
        data = data.contiguous(memory_format=torch.channels_last)
    b = a.batch
    lam = 1.0 / a.critics
    f_g = forward_flops_per_sample(g, torch.randn(2, 100))
    f_d = forward_flops_per_sample(critics[0], data[:2])

    clock = PhaseClock()

    def iteration():
        clock.lap("other")
        for d, opt in zip(critics, opt_d):
            for _ in range(a.n_critic):
                real = data[torch.randint(0, data.size(0), (b,))]
                with torch.no_grad(), precision():
                    fake = g(torch.randn(b, 100)).float()
                clock.lap("critic step: G forward (no grad)")
                with precision():
                    scores = d(torch.cat([real, fake])).float()
                clock.lap("critic step: D forward, real + fake")
                gp = gradient_penalty(d, real, fake, precision)
                clock.lap("critic step: GP forward + input gradient")
                loss = scores[b:].mean() - scores[:b].mean() + 10.0 * gp
                opt.zero_grad()
                loss.backward()
                clock.lap("critic step: backward (incl. GP double backward)")
                opt.step()
                clock.lap("critic step: Adam")
        for d in critics:
            d.requires_grad_(False)
        with precision():
            fake = g(torch.randn(b, 100))
            scores = [d(fake).float() for d in critics]
        clock.lap("generator step: G + D forward")
        loss_g = sum(-lam * sc.mean() for sc in scores)
        opt_g.zero_grad()
        loss_g.backward()
        clock.lap("generator step: backward")
        opt_g.step()
        for d in critics:
            d.requires_grad_(True)
        value = loss_g.item()  # one host synchronisation per iteration, as the engine
        clock.lap("generator step: Adam")
        return value

    per_window = a.per_window or (3 if a.preset == "paper" else 10)
    for _ in range(a.warmup):
        iteration()
    rates = []
    clock.on = True
    for _ in range(a.windows):
        t0 = time.perf_counter()
        for _ in range(per_window):
            iteration()
        rates.append(per_window / (time.perf_counter() - t0))
    rate = statistics.median(rates)
    flops = iteration_flops(f_g, f_d, b, a.critics, a.n_critic)
    print(f"peer {a.preset} critics {a.critics} threads {a.threads} {a.precision}: median {rate:.3f} it/s; "
          f"{flops / 1e9:.1f} GFLOP/it (estimate) = {rate * flops / 1e9:.1f} GFLOP/s; windows: "
          + " ".join(f"{r:.3f}" for r in rates), flush=True)
    if a.profile:
        iterations = a.windows * per_window
        total = sum(clock.totals.values())
        print(f"| phase ({a.preset}, {a.precision}, {a.threads} thread(s)) | s/iteration | share |")
        print("|---|---|---|")
        for name, seconds in clock.totals.items():
            print(f"| {name} | {seconds / iterations:.4f} | {100 * seconds / total:.1f} % |")


if __name__ == "__main__":
    main()
