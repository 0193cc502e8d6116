"""Coalesce's generator and critic networks as PyTorch nn.Modules, for Python users and for the
interop tests.

These must stay layer-for-layer identical to engine/models/networks.cpp: the layers live in an
nn.Sequential named ``net`` so that parameter and buffer names ("net.0.weight",
"net.1.running_mean", ...) are the same on both sides and state_dicts move between C++ and Python
unchanged. Architectures are described by the same JSON as ArchSpec::toJson(), e.g.
{"family": "dcgan32", "channels": 1, "image_size": 32, "latent_dim": 100,
 "generator_widths": [256, 64, 32], "critic_widths": [32, 64, 128]}.

Also holds a tiny dependency-free safetensors reader/writer (the format of .coalesce files and of
Coalesce's generator exports), so the tests do not need the safetensors package.
"""
import json
import struct
import zlib

import torch
from torch import nn

PRESETS = {
    ("dcgan32", "paper"): dict(latent_dim=100, generator_widths=[1024, 128, 64], critic_widths=[64, 128, 256]),
    ("dcgan32", "small"): dict(latent_dim=100, generator_widths=[256, 64, 32], critic_widths=[32, 64, 128]),
    ("dcgan32", "cifar"): dict(latent_dim=100, generator_widths=[1024, 512, 256], critic_widths=[256, 512, 1024]),
    ("dcgan64", "small"): dict(latent_dim=100, generator_widths=[256, 128, 64, 32], critic_widths=[32, 64, 128, 256]),
    ("dcgan64", "lsun"): dict(latent_dim=100, generator_widths=[1024, 512, 256, 128],
                              critic_widths=[128, 256, 512, 1024]),
    ("mlp2d", "small"): dict(latent_dim=8, generator_widths=[128, 128, 128], critic_widths=[128, 128, 128]),
}


IMAGE_SIZE = {"dcgan32": 32, "dcgan64": 64}


def preset(family, name="small", channels=1):
    """Same presets as ArchSpec::preset (mlp2d's "paper" equals its "small")."""
    if family == "mlp2d":
        name = "small"
    if family == "dcgan64" and name == "paper":
        name = "lsun"
    arch = dict(family=family, **PRESETS[(family, name)])
    if family in IMAGE_SIZE:
        arch.update(channels=channels, image_size=IMAGE_SIZE[family])
    else:
        arch.update(data_dim=2)
    return arch


class Generator(nn.Module):
    """z: B x latent_dim -> B x C x S x S in [-1, 1] (dcgan32: S = 32, dcgan64: S = 64) or B x data_dim (mlp2d)."""

    def __init__(self, arch):
        super().__init__()
        self.is_image = arch["family"] in IMAGE_SIZE
        self.latent_dim = int(arch["latent_dim"])
        layers = []
        fan_in = self.latent_dim
        if self.is_image:
            for i, width in enumerate(arch["generator_widths"]):
                first = i == 0
                layers += [nn.ConvTranspose2d(fan_in, width, 4, stride=1 if first else 2, padding=0 if first else 1),
                           nn.BatchNorm2d(width), nn.ReLU()]
                fan_in = width
            layers += [nn.ConvTranspose2d(fan_in, arch["channels"], 4, stride=2, padding=1), nn.Tanh()]
        else:
            for width in arch["generator_widths"]:
                layers += [nn.Linear(fan_in, width), nn.ReLU()]
                fan_in = width
            layers += [nn.Linear(fan_in, arch["data_dim"])]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        if self.is_image:
            return self.net(z.view(z.size(0), z.size(1), 1, 1))
        return self.net(z)


class Critic(nn.Module):
    """x: B x C x S x S or B x data_dim -> B scores (WGAN critic, no sigmoid)."""

    def __init__(self, arch):
        super().__init__()
        layers = []
        if arch["family"] in IMAGE_SIZE:
            fan_in = arch["channels"]
            for width in arch["critic_widths"]:
                layers += [nn.Conv2d(fan_in, width, 4, stride=2, padding=1),
                           nn.InstanceNorm2d(width, affine=True), nn.LeakyReLU(0.2)]
                fan_in = width
            layers += [nn.Conv2d(fan_in, 1, 4, stride=1, padding=0)]
        else:
            fan_in = arch["data_dim"]
            for width in arch["critic_widths"]:
                layers += [nn.Linear(fan_in, width), nn.ReLU()]
                fan_in = width
            layers += [nn.Linear(fan_in, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x).view(x.size(0))


# ---- safetensors (https://github.com/huggingface/safetensors#format), written from the spec ----

_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
           "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
           "U8": torch.uint8, "BOOL": torch.bool}
_NAMES = {v: k for k, v in _DTYPES.items()}


def read_safetensors(path):
    """Returns (tensors: dict name -> tensor, metadata: dict, data_section: bytes)."""
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    data = blob[8 + header_len:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = _DTYPES[entry["dtype"]]
        flat = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(entry["shape"]).clone()
    return tensors, metadata, data


def write_safetensors(path, tensors, metadata=None):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        raw = t.detach().cpu().contiguous().numpy().tobytes() if t.dtype != torch.bfloat16 else \
            t.detach().cpu().contiguous().view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def load_coalesce_checkpoint(path):
    """Reads a native .coalesce file like a Python user would: returns (arch, meta, tensors).
    Verifies the format marker and the data CRC described in engine/io/checkpoint.h."""
    tensors, metadata, data = read_safetensors(path)
    if metadata.get("format") != "coalesce-checkpoint":
        raise ValueError(f"{path}: not a Coalesce checkpoint")
    crc = "%08x" % (zlib.crc32(data) & 0xFFFFFFFF)
    if metadata["data_crc32"].lower() != crc:
        raise ValueError(f"{path}: data CRC {crc} != {metadata['data_crc32']}")
    return json.loads(metadata["arch"]), json.loads(metadata.get("meta", "{}")), tensors


def generator_from_checkpoint(path):
    arch, _, tensors = load_coalesce_checkpoint(path)
    g = Generator(arch)
    g.load_state_dict({k[len("generator."):]: v for k, v in tensors.items() if k.startswith("generator.")})
    return g
