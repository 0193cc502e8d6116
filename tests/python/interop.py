#!/usr/bin/python3
"""Python half of the C++ <-> Python model-file interop tests (tests/engine/test_interop.cpp).

  interop.py write --arch JSON --seed N --batch B --out DIR
      Builds coalesce_nets.Generator(arch) with seeded random weights AND random BatchNorm running
      statistics (so eval mode differs from train mode), and writes the files a Python user would:
        scripted.pt          torch.jit.script(g).save
        traced.pt            torch.jit.trace(g, z).save
        state_dict.pt        torch.save(g.state_dict())
        state_dict_legacy.pt torch.save(..., _use_new_zipfile_serialization=False) (pre-1.6 format)
        dataparallel.pt      torch.save(nn.DataParallel(g.net).state_dict())  -> keys "module.0.weight"
        training_dict.pt     torch.save({"epoch": 7, "netG": g.state_dict(), "netD": ..., "optG": ...})
        whole_module.pt      torch.save(g) (a pickled nn.Module)
        plain.safetensors    the state_dict as safetensors without any metadata
        cuda_saved.pt        a state_dict whose storages are tagged "cuda:0", as when saved from a GPU
        reference_v1.pt / reference_v2.pt (dcgan32 only) checkpoints laid out like the paper's reference
                             code: {"modelG": <whole module | state_dict>, "modelD": [...], "optimizerG": ...}
                             with the layers under "main_module."
        no_bias.pt           the state_dict without conv/linear biases (a bias=False network's weights)
        io.safetensors       {"z": B x latent, "out": g.eval()(z), "out_no_bias": the bias=False net's output}
        not_weights.pt, other.zip   files that hold no generator (for error messages)
  interop.py check --io IO [--arch JSON] KIND:FILE [KIND:FILE ...]
      Loads files Coalesce wrote (KIND: torchscript, state_dict, safetensors, coalesce), runs each in eval
      mode on IO's "z" and compares with IO's "out" (Coalesce's C++ output). Prints one JSON line with
      the max_abs_diff per file; exit code 0 if all are <= --tol (default 1e-5), 3 otherwise.
Only /usr/bin/python3 (Debian's, with python3-torch) is supported.
"""
import argparse
import json
import os
import sys
import zipfile

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coalesce_nets as cn  # noqa: E402


def randomize_batchnorm(module, gen):
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=gen))
                m.running_mean.copy_(0.3 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))
                m.num_batches_tracked.fill_(11)


class ReferenceStyleGenerator(nn.Module):
    """The layout of the paper's reference code (Zeleni9/pytorch-wgan style): layers in main_module,
    the Tanh outside it. Same computation as coalesce_nets.Generator for dcgan32."""

    def __init__(self, g):
        super().__init__()
        self.main_module = nn.Sequential(*list(g.net.children())[:-1])
        self.output = nn.Tanh()

    def forward(self, z):
        return self.output(self.main_module(z.view(z.size(0), z.size(1), 1, 1)))


def cmd_write(args):
    arch = json.loads(args.arch)
    torch.manual_seed(args.seed)
    g = cn.Generator(arch)
    randomize_batchnorm(g, torch.Generator().manual_seed(args.seed + 1))
    g.eval()
    z = torch.randn(args.batch, arch["latent_dim"], generator=torch.Generator().manual_seed(args.seed + 2))
    with torch.no_grad():
        out = g(z)
    os.makedirs(args.out, exist_ok=True)
    p = lambda name: os.path.join(args.out, name)  # noqa: E731

    torch.jit.script(g).save(p("scripted.pt"))
    torch.jit.trace(g, z).save(p("traced.pt"))
    torch.save(g.state_dict(), p("state_dict.pt"))
    torch.save(g.state_dict(), p("state_dict_legacy.pt"), _use_new_zipfile_serialization=False)
    torch.save(nn.DataParallel(g.net).state_dict(), p("dataparallel.pt"))
    critic = cn.Critic(arch)
    opt = torch.optim.Adam(g.parameters(), lr=1e-4)
    torch.save({"epoch": 7, "netG": g.state_dict(), "netD": critic.state_dict(), "optG": opt.state_dict(),
                "note": "training checkpoint", "losses": [0.5, 0.25]}, p("training_dict.pt"))
    torch.save(g, p("whole_module.pt"))
    cn.write_safetensors(p("plain.safetensors"), g.state_dict())
    # As if saved from a GPU: the storages say "cuda:0" (this machine may have no GPU; the bytes are the same).
    real_location_tag = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        torch.save(g.state_dict(), p("cuda_saved.pt"))
    finally:
        torch.serialization.location_tag = real_location_tag
    if g.is_image:
        # The reference implementation's checkpoints: v1 pickles whole modules, v2 state_dicts.
        ref = ReferenceStyleGenerator(g)
        torch.save({"modelG": ref, "modelD": [critic], "optimizerG": opt.state_dict()}, p("reference_v1.pt"))
        torch.save({"modelG": ref.state_dict(), "modelD": [critic.state_dict()], "optimizerG": opt.state_dict()},
                   p("reference_v2.pt"))
    # Weights of a bias=False network (as in many DCGAN codes): conv/linear biases absent from the file.
    no_bias = {k: v for k, v in g.state_dict().items()
               if not (k.endswith(".bias") and g.state_dict()[k[:-4] + "weight"].dim() >= 2)}
    torch.save(no_bias, p("no_bias.pt"))
    g_no_bias = cn.Generator(arch)
    g_no_bias.load_state_dict(no_bias, strict=False)
    for name, param in g_no_bias.named_parameters():
        if name not in no_bias:
            with torch.no_grad():
                param.zero_()
    g_no_bias.eval()
    with torch.no_grad():
        out_no_bias = g_no_bias(z)
    cn.write_safetensors(p("io.safetensors"), {"z": z, "out": out, "out_no_bias": out_no_bias})
    # Files that are not generators, for the error-message tests.
    torch.save({"epoch": 3, "lr": 0.1}, p("not_weights.pt"))
    with zipfile.ZipFile(p("other.zip"), "w") as archive:
        archive.writestr("readme.txt", "not a model")
    print(json.dumps({"ok": True, "files": sorted(os.listdir(args.out)),
                      "out_abs_mean": float(out.abs().mean())}))


def load_for_check(kind, path, arch_json):
    if kind == "torchscript":
        m = torch.jit.load(path)
        m.eval()
        # The same weights must also load into the plain nn.Module by name.
        arch = json.loads(m.coalesce_arch)["arch"]
        g = cn.Generator(arch)
        g.load_state_dict(m.state_dict())
        g.eval()
        return [("torchscript", m), ("nn.Module from its state_dict", g)]
    if kind == "state_dict":
        sd = torch.load(path)
        g = cn.Generator(json.loads(arch_json))
        g.load_state_dict(sd)
        g.eval()
        return [("state_dict", g)]
    if kind == "safetensors":
        tensors, meta, _ = cn.read_safetensors(path)
        sidecar = os.path.splitext(path)[0] + ".json"
        with open(sidecar) as f:
            side = json.load(f)
        arch = json.loads(meta["arch"])
        if arch != side["arch"]:
            raise ValueError("metadata and sidecar architectures differ")
        g = cn.Generator(arch)
        g.load_state_dict(tensors)
        g.eval()
        return [("safetensors", g)]
    if kind == "coalesce":
        g = cn.generator_from_checkpoint(path)
        g.eval()
        return [("coalesce", g)]
    raise ValueError("unknown kind " + kind)


def cmd_check(args):
    io, _, _ = cn.read_safetensors(args.io)
    z, expected = io["z"], io["out"]
    worst = 0.0
    report = {}
    for item in args.files:
        kind, path = item.split(":", 1)
        for label, model in load_for_check(kind, path, args.arch):
            with torch.no_grad():
                got = model(z)
            key = os.path.basename(path) + " as " + label
            if got.shape != expected.shape:
                print(json.dumps({"ok": False, "error": f"{key}: shape {list(got.shape)} vs {list(expected.shape)}"}))
                return 3
            diff = float((got - expected).abs().max())
            report[key] = diff
            worst = max(worst, diff)
    ok = worst <= args.tol
    print(json.dumps({"ok": ok, "max_abs_diff": worst, "per_model": report, "out_abs_mean": float(expected.abs().mean())}))
    return 0 if ok else 3


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write")
    w.add_argument("--arch", required=True)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--batch", type=int, default=5)
    w.add_argument("--out", required=True)
    c = sub.add_parser("check")
    c.add_argument("--io", required=True)
    c.add_argument("files", nargs="+", help="KIND:FILE")
    c.add_argument("--arch", default=None)
    c.add_argument("--tol", type=float, default=1e-5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    return cmd_write(args) or 0 if args.command == "write" else cmd_check(args)


if __name__ == "__main__":
    sys.exit(main())
