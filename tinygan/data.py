"""MNIST from the four standard IDX files, gzipped or not.

Where the files are looked for, in order: the `data_dir` argument (--data-dir),
$TINYGAN_DATA/mnist, ~/.cache/tinygan/mnist. Missing files are downloaded from
public mirrors into data_dir (or the cache when none was given), written
atomically and verified by the md5 of their *uncompressed* content, so the
mirrors' .gz files and re-compressed copies both verify.
"""
import gzip
import hashlib
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .io import verified_download

MNIST_FILES = {
    # name: (uncompressed bytes, md5 of the uncompressed file, IDX magic, shape of one item)
    "train-images-idx3-ubyte": (47040016, "6bbc9ace898e44ae57da46a324031adb", 2051, (28, 28)),
    "train-labels-idx1-ubyte": (60008, "a25bea736e30d166cdddb491f175f624", 2049, ()),
    "t10k-images-idx3-ubyte": (7840016, "2646ac647ad5339dbf082846283269ea", 2051, (28, 28)),
    "t10k-labels-idx1-ubyte": (10008, "27ae3e4e09519cfbb04c329615203637", 2049, ()),
}
SPLITS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/")


class DataError(RuntimeError):
    """A data file is missing, cannot be fetched, or is not what it should be."""


def cache_dir():
    return Path(os.path.expanduser("~")) / ".cache" / "tinygan"


def search_dirs(subdir, data_dir=None):
    """Folders searched for a data set, in order: data_dir, $TINYGAN_DATA/subdir, the cache."""
    dirs = []
    if data_dir is not None:
        dirs.append(Path(data_dir))
    if os.environ.get("TINYGAN_DATA"):
        dirs.append(Path(os.environ["TINYGAN_DATA"]) / subdir)
    dirs.append(cache_dir() / subdir)
    return dirs


def mirrors(env_var, default):
    """Mirror base URLs: a comma-separated list in env_var, else the defaults."""
    value = os.environ.get(env_var, "").strip()
    return tuple(u.strip() for u in value.split(",") if u.strip()) if value else default


# ----------------------------------------------------------------------------- IDX files
def read_bytes(path):
    """The uncompressed content of `path` (gzip detected by its magic bytes)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: corrupt or truncated gzip file ({e})") from None


def parse_idx(raw, name, expect_magic=None, expect_item_shape=None):
    """Parse an unsigned-byte IDX file. Returns a uint8 array (count, *item_shape)."""
    if len(raw) < 8:
        raise DataError(f"{name}: too short to be an IDX file ({len(raw)} bytes)")
    magic, count = struct.unpack(">II", raw[:8])
    if magic >> 8 != 0x08:
        raise DataError(f"{name}: wrong magic number 0x{magic:08x} (not an unsigned-byte IDX file)")
    ndim = magic & 0xFF
    if expect_magic is not None and magic != expect_magic:
        raise DataError(f"{name}: wrong magic number 0x{magic:08x}, expected 0x{expect_magic:08x}")
    header = 4 + 4 * ndim
    if ndim < 1 or len(raw) < header:
        raise DataError(f"{name}: truncated header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    if expect_item_shape is not None and tuple(dims[1:]) != tuple(expect_item_shape):
        raise DataError(f"{name}: items of shape {dims[1:]}, expected {expect_item_shape}")
    want = header + int(np.prod(dims))
    if len(raw) != want:
        raise DataError(f"{name}: header says {count} items ({want} bytes) but the file has "
                        f"{len(raw)} bytes (truncated or corrupt)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find(stem, dirs):
    for d in dirs:
        for candidate in (d / (stem + ".gz"), d / stem):
            if candidate.is_file():
                return candidate
    return None


def _download(stem, target_dir, urls, timeout=30):
    """Fetch stem.gz from the first mirror that serves a file with the right content;
    write it atomically into target_dir. Returns its path."""
    size, md5, _, _ = MNIST_FILES[stem]

    def check(payload):
        try:
            content = gzip.decompress(payload) if payload[:2] == b"\x1f\x8b" else payload
        except (OSError, EOFError, zlib.error) as e:
            return f"not a valid gzip file ({e})"
        if len(content) != size or hashlib.md5(content).hexdigest() != md5:
            return "content fails the md5 check (corrupt download)"
        return None
    try:
        return verified_download([base.rstrip("/") + "/" + stem + ".gz" for base in urls], check,
                                 Path(target_dir) / (stem + ".gz"), timeout)
    except OSError as e:
        raise DataError(f"could not download {stem}.gz:\n  {e}") from None


def mnist_dir(data_dir=None):
    """The folder the MNIST training images are found in (as load_mnist searches), or None."""
    path = _find(SPLITS["train"][0], search_dirs("mnist", data_dir))
    return None if path is None else path.parent


def load_mnist(split="train", data_dir=None, download=True, mirror_urls=None):
    """MNIST images (n, 28, 28) uint8 and labels (n,) uint8 for split "train" or "test".

    Files at their full official size are checked against the published md5;
    files of other sizes (subsets, test fixtures) are checked for structure only.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    dirs = search_dirs("mnist", data_dir)
    out = []
    for stem in SPLITS[split]:
        size, md5, magic, item_shape = MNIST_FILES[stem]
        path = _find(stem, dirs)
        if path is None:
            if not download:
                raise DataError(_missing_message(stem, dirs))
            urls = mirror_urls or mirrors("TINYGAN_MNIST_MIRRORS", MNIST_MIRRORS)
            try:
                path = _download(stem, dirs[0] if data_dir is not None else cache_dir() / "mnist", urls)
            except DataError as e:
                raise DataError(f"{e}\n\n{_missing_message(stem, dirs)}") from None
        raw = read_bytes(path)
        if len(raw) == size and hashlib.md5(raw).hexdigest() != md5:
            raise DataError(f"{path}: content fails the md5 check (corrupt file); delete it to download it again")
        out.append(parse_idx(raw, str(path), magic, item_shape))
    images, labels = out
    if len(images) != len(labels):
        raise DataError(f"MNIST {split}: {len(images)} images but {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise DataError(f"MNIST {split}: label {labels.max()} out of range 0..9")
    return images, labels


def _missing_message(stem, dirs):
    places = "\n  ".join(str(d) for d in dirs)
    return (f"MNIST file {stem}(.gz) was not found and could not be downloaded. Put the four files\n"
            f"  {', '.join(n + '.gz' for n in MNIST_FILES)}\n"
            f"(gzipped or not) in one of these folders, searched in this order:\n  {places}\n"
            f"or pass --data-dir, or set TINYGAN_DATA to a folder that has an mnist/ subfolder.")


def epoch_permutation(seed, epoch, n):
    """The order of the n training items in a given epoch: a function of (seed, epoch)
    alone, so a resumed run visits the same batches as an uninterrupted one."""
    return np.random.default_rng([seed, epoch]).permutation(n)
