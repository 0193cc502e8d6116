#!/usr/bin/python3
"""Independent reading of an IDX image/label pair (gzip or raw) with Python's gzip + numpy, for
test_data: prints JSON with the counts, the label histogram, some labels and per-image pixel sums,
and the SHA-256 of both files as stored.

usage: idx_reference.py <images> <labels> <index> [<index> ...]
"""
import gzip
import hashlib
import json
import struct
import sys

import numpy as np


def read(path):
    raw = open(path, "rb").read()
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    return raw, data


def main():
    images_path, labels_path = sys.argv[1], sys.argv[2]
    indices = [int(i) for i in sys.argv[3:]]
    images_raw, images = read(images_path)
    labels_raw, labels = read(labels_path)
    magic, n, rows, cols = struct.unpack(">IIII", images[:16])
    assert magic == 0x803, hex(magic)
    lmagic, ln = struct.unpack(">II", labels[:8])
    assert lmagic == 0x801, hex(lmagic)
    pixels = np.frombuffer(images, dtype=np.uint8, offset=16).reshape(n, rows, cols)
    label_values = np.frombuffer(labels, dtype=np.uint8, offset=8)
    print(json.dumps({
        "count": int(n),
        "rows": int(rows),
        "cols": int(cols),
        "label_count": int(ln),
        "histogram": np.bincount(label_values, minlength=10).tolist(),
        "labels_at": [int(label_values[i]) for i in indices],
        "pixel_sums": [int(pixels[i].astype(np.int64).sum()) for i in indices],
        "images_sha256": hashlib.sha256(images_raw).hexdigest(),
        "labels_sha256": hashlib.sha256(labels_raw).hexdigest(),
    }))


if __name__ == "__main__":
    main()
