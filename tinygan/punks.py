"""The CryptoPunks: the official composite image of all 10,000 punks (24x24 RGBA tiles).

Where punks.png is looked for, in order: the `data_dir` argument (--data-dir),
$TINYGAN_DATA/cryptopunks, ~/.cache/tinygan/cryptopunks. When it is missing it is
downloaded from the larvalabs/cryptopunks repository, and any copy is verified by its
SHA-256, the hash embedded in the CryptoPunks contract.
"""
import csv
import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from .data import DataError, cache_dir, mirrors, search_dirs
from .io import sha256, verified_download

PUNKS_SHA256 = "ac39af4793119ee46bbff351d8cb6b5f23da60222126add4268e261199a2921b"
PUNKS_URLS = ("https://raw.githubusercontent.com/larvalabs/cryptopunks/master/punks.png",)
TILE, PER_ROW = 24, 100
DEFAULT_BACKGROUND = (99, 133, 150)  # the blue-grey behind the punks on their own site, #638596


def find_or_download(data_dir=None, download=True, urls=None, expected_sha256=None):
    """Path of a verified punks.png (against expected_sha256, the official hash when None);
    downloads it (atomically) when no folder has it."""
    expected_sha256 = expected_sha256 or PUNKS_SHA256
    dirs = search_dirs("cryptopunks", data_dir)
    for d in dirs:
        path = d / "punks.png"
        if path.is_file():
            if sha256(path.read_bytes()) != expected_sha256:
                raise DataError(f"{path}: SHA-256 does not match the official punks.png "
                                f"({expected_sha256}); refusing to use it. Delete it to download a fresh copy.")
            return path
    places = "\n  ".join(str(d) for d in dirs)
    if not download:
        raise DataError(f"punks.png was not found. Put it in one of these folders:\n  {places}\n"
                        "or pass --data-dir, or set TINYGAN_DATA to a folder with a cryptopunks/ subfolder.")
    target = (dirs[0] if data_dir is not None else cache_dir() / "cryptopunks")
    try:
        return verified_download(
            urls or mirrors("TINYGAN_PUNKS_URLS", PUNKS_URLS),
            lambda raw: None if sha256(raw) == expected_sha256 else "SHA-256 does not match the official punks.png",
            target / "punks.png")
    except OSError as e:
        raise DataError(f"could not download punks.png:\n  {e}\nPut the file in one of these folders:\n  {places}") from None


def split_tiles(rgba):
    """(H, W, 4) composite -> (n, 24, 24, 4) tiles; punk i is row i // 100, column i % 100."""
    H, W, _ = rgba.shape
    if H % TILE or W % TILE:
        raise DataError(f"composite of {W}x{H} pixels is not a grid of {TILE}x{TILE} tiles")
    rows, cols = H // TILE, W // TILE
    tiles = rgba.reshape(rows, TILE, cols, TILE, 4).transpose(0, 2, 1, 3, 4)  # (rows, cols, 24, 24, 4)
    return tiles.reshape(rows * cols, TILE, TILE, 4)


def composite(tiles, background=DEFAULT_BACKGROUND):
    """Alpha-composite RGBA tiles (n, h, w, 4) uint8 over a flat background colour -> float RGB in [0, 255]:
    rgb * a + background * (1 - a), a = alpha / 255."""
    rgb = tiles[..., :3].astype(np.float32)
    a = tiles[..., 3:4].astype(np.float32) / 255.0
    return rgb * a + np.asarray(background, np.float32) * (1 - a)


def load_punks(data_dir=None, size=24, background=DEFAULT_BACKGROUND, download=True, path=None,
               expected_sha256=None):
    """All punks as float32 (n, 3, size, size) in [-1, 1] (for a tanh generator).

    size 24 is the punks' native resolution; size 32 pads 4 pixels of background around.
    `path` skips the search; the file is checked against expected_sha256 (None: the official hash).
    """
    expected_sha256 = expected_sha256 or PUNKS_SHA256
    if size not in (24, 32):
        raise ValueError(f"size must be 24 (native) or 32 (padded), got {size}")
    if len(background) != 3 or not all(0 <= c <= 255 for c in background):
        raise ValueError(f"background must be three values in 0..255, got {background}")
    if path is None:
        path = find_or_download(data_dir, download, expected_sha256=expected_sha256)
    raw = open(path, "rb").read()
    if sha256(raw) != expected_sha256:
        raise DataError(f"{path}: SHA-256 does not match ({expected_sha256}); refusing to use it")
    try:
        rgba = np.asarray(Image.open(io.BytesIO(raw)).convert("RGBA"))
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"{path}: not a readable PNG ({e})") from None
    rgb = composite(split_tiles(rgba), background)                      # (n, 24, 24, 3)
    if size == 32:
        out = np.empty((len(rgb), 32, 32, 3), np.float32)
        out[...] = np.asarray(background, np.float32)
        out[:, 4:28, 4:28] = rgb
        rgb = out
    return (rgb / 127.5 - 1).transpose(0, 3, 1, 2).astype(np.float32)  # (n, 3, size, size)


def load_attributes(path):
    """attributes.csv (id, type, accessories '/'-separated) -> (types list, accessories list of sets)."""
    types, accessories = {}, {}
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                i = int(row["id"])
                types[i] = row["type"]
                accessories[i] = set(a for a in row["accessories"].split("/") if a)
    except FileNotFoundError:
        raise DataError(f"{path}: no such attributes file") from None
    except (KeyError, ValueError) as e:
        raise DataError(f"{path}: not an attributes file with columns id,type,accessories ({e})") from None
    ids = sorted(types)
    if ids != list(range(len(ids))):
        raise DataError(f"{path}: ids are not 0..{len(ids) - 1}")
    return [types[i] for i in ids], [accessories[i] for i in ids]


def holdout_split(n, holdout):
    """(held-out indices, training indices) of n punks: a fixed, seed-independent choice, so
    every run and every analysis holds out the same punks."""
    if not 0 <= holdout <= n:
        raise ValueError(f"holdout must be in 0..{n}, got {holdout}")
    perm = np.random.default_rng(2017).permutation(n)
    return np.sort(perm[:holdout]), np.sort(perm[holdout:])
