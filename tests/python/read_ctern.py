#!/usr/bin/python3
"""Independent reader of Coalesce's packed ternary generator files (.ctern), written from the format
description in engine/quant/packed_generator.h (not from the C++ code). Pure standard library.

Usage: read_ctern.py file.ctern  ->  prints JSON:
  {"magic_ok", "version", "crc_ok", "method", "arch",
   "layers": {name: {"count", "positive", "negative", "checksum", "dequantised_sum"}},
   "tensors": {name: {"dtype", "count", "sum"}}}
checksum = sum over weights i (row-major) of ((i % 97) + 1) * code_i, which catches any ordering or
bit-layout mistake; dequantised_sum = scale_pos * positive - scale_neg * negative.
"""
import json
import struct
import sys
import zlib


def decode_codes(blob, count):
    # Byte b holds weights 4k..4k+3 in bits (0-1), (2-3), (4-5), (6-7); 0 -> 0, 1 -> +1, 2 -> -1.
    table = {0: 0, 1: 1, 2: -1}
    codes = []
    for byte in blob:
        for shift in (0, 2, 4, 6):
            codes.append(table[(byte >> shift) & 3])
    return codes[:count]


def main():
    data = open(sys.argv[1], "rb").read()
    version, crc = struct.unpack("<II", data[8:16])
    (header_len,) = struct.unpack("<Q", data[16:24])
    header = json.loads(data[24:24 + header_len].decode("utf-8"))
    body = data[24 + header_len:]
    out = {
        "magic_ok": data[:8] == b"COALTERN",
        "version": version,
        "crc_ok": (zlib.crc32(data[16:]) & 0xFFFFFFFF) == crc,
        "method": header["method"],
        "arch": header["arch"],
        "layers": {},
        "tensors": {},
    }
    for layer in header["ternary"]:
        count = 1
        for d in layer["shape"]:
            count *= d
        codes = decode_codes(body[layer["offset"]:layer["offset"] + layer["bytes"]], count)
        positive = sum(1 for c in codes if c == 1)
        negative = sum(1 for c in codes if c == -1)
        out["layers"][layer["name"]] = {
            "count": count,
            "positive": positive,
            "negative": negative,
            "checksum": sum(((i % 97) + 1) * c for i, c in enumerate(codes)),
            "dequantised_sum": layer["scale_pos"] * positive - layer["scale_neg"] * negative,
        }
    formats = {"float32": ("f", 4), "float64": ("d", 8), "int64": ("q", 8)}
    for name, entry in header["tensors"].items():
        code, size = formats[entry["dtype"]]
        count = entry["bytes"] // size
        values = struct.unpack("<%d%s" % (count, code), body[entry["offset"]:entry["offset"] + entry["bytes"]])
        out["tensors"][name] = {"dtype": entry["dtype"], "count": count, "sum": float(sum(values))}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
