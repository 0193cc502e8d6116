#!/usr/bin/python3
"""TorchScript generators that are not Coalesce networks, for the black-box source tests
(tests/engine/test_black_box.cpp).

  black_box.py write --out DIR
      g64.pt          a 64x64 RGB DCGAN with its own layer names ("main.*", latent 64, BatchNorm with
                      random running statistics), torch.jit.script'ed, with an int attribute latent_dim
      io.safetensors  {"z": 6 x 64, "native": g64(z), "gray32": the documented conversion to 1x32x32,
                      "rgb32": to 3x32x32} computed here independently (channel weights, 2x2 average)
      no_latent.pt    a generator without a latent_dim attribute (latent 16)
      hangs.pt        answers the 2-sample probe, then loops forever on bigger batches
      raises.pt       answers the probe, then raises RuntimeError("the module refuses this batch")
      points.pt       returns B x 2 points, not images
Only /usr/bin/python3 (Debian's, with python3-torch) is supported.
"""
import argparse
import json
import os
import sys

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coalesce_nets as cn  # noqa: E402


class Dcgan64(nn.Module):
    """A typical PyTorch-user DCGAN at 64x64 RGB: its own names, bias-free convolutions."""

    def __init__(self, nz: int = 64, ngf: int = 16):
        super().__init__()
        self.latent_dim = nz
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z):
        return self.main(z.view(z.size(0), z.size(1), 1, 1))


class NoLatent(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 32 * 32)

    def forward(self, z):
        return torch.tanh(self.fc(z)).view(z.size(0), 1, 32, 32)


class Hangs(nn.Module):
    latent_dim: int

    def __init__(self):
        super().__init__()
        self.latent_dim = 8

    def forward(self, z):
        x = torch.zeros(z.size(0), 1, 32, 32)
        if z.size(0) > 2:
            i = 0
            while i >= 0:
                i += 1
                x = x + 0.0
        return x


class Raises(nn.Module):
    latent_dim: int

    def __init__(self):
        super().__init__()
        self.latent_dim = 8

    def forward(self, z):
        if z.size(0) > 2:
            raise RuntimeError("the module refuses this batch")
        return torch.zeros(z.size(0), 1, 32, 32)


class Points(nn.Module):
    latent_dim: int

    def __init__(self):
        super().__init__()
        self.latent_dim = 8

    def forward(self, z):
        return z[:, :2]


def to_gray(x):
    w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def cmd_write(args):
    os.makedirs(args.out, exist_ok=True)
    p = lambda name: os.path.join(args.out, name)  # noqa: E731
    torch.manual_seed(5)
    g = Dcgan64()
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape))
    g.eval()
    scripted = torch.jit.script(g)
    scripted.save(p("g64.pt"))
    z = torch.randn(6, 64, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        native = g(z)
    clamped = native.clamp(-1, 1)
    # 64 -> 32 is an exact 2x2 area average (the size rule shrinks by area).
    gray32 = F.avg_pool2d(to_gray(clamped), 2)
    rgb32 = F.avg_pool2d(clamped, 2)
    cn.write_safetensors(p("io.safetensors"), {"z": z, "native": native, "gray32": gray32, "rgb32": rgb32})
    torch.jit.script(NoLatent()).save(p("no_latent.pt"))
    torch.jit.script(Hangs()).save(p("hangs.pt"))
    torch.jit.script(Raises()).save(p("raises.pt"))
    torch.jit.script(Points()).save(p("points.pt"))
    print(json.dumps({"ok": True, "files": sorted(os.listdir(args.out))}))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--out", required=True)
    args = parser.parse_args()
    cmd_write(args)


if __name__ == "__main__":
    main()
