"""Files: written atomically (a reader never sees half a file, a crash never leaves one),
verified downloads, and the checks of every path a user gives, so that a bad path stops
a script with one clear line before any work starts."""
import hashlib
import io
import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np


class PathError(ValueError):
    """A path a user gave cannot be used: missing, the wrong kind, or not writable."""


# ----------------------------------------------------------------------------- atomic writes
def atomic_write(path, data):
    """Write bytes (or str, as UTF-8) to `path` through a temporary file in the same folder,
    flushed to disk, then renamed over `path`: the old content or the new, never a mix."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_json(path, obj, indent=1):
    """json.dumps(obj) written atomically."""
    return atomic_write(path, json.dumps(obj, indent=indent) + "\n")


def atomic_save_npz(paths, meta, **arrays):
    """np.savez of the arrays plus a JSON `meta` dict (stored as the bytes of __meta__), written
    atomically to `paths` (one path, or a list: the archive is built once, written to each)."""
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    for path in paths:
        atomic_write(path, buf.getvalue())
    return paths[0]


def load_keyed(dirs, name, key):
    """The first readable file `name` in `dirs` (None entries skipped) saved by save_keyed with
    this `key` (a JSON-able dict of the settings that made it): (arrays, meta, path), or None.
    A file with another key or an unreadable one is passed over (and replaced on saving)."""
    for d in dirs:
        path = Path(d) / name if d is not None else None
        if path is None or not path.is_file():
            continue
        try:
            with np.load(path) as z:
                arrays = {k: z[k] for k in z.files}
            meta = json.loads(arrays.pop("__meta__").tobytes().decode())
        except Exception:
            continue
        if meta.get("key") == key:
            return arrays, meta, path
    return None


def save_keyed(dirs, name, key, arrays, **meta):
    """Save arrays with {"key": key, **meta} as `name` in the first writable of `dirs`,
    atomically. Returns the path, or None when no folder can be written."""
    target = writable_dir(dirs)
    if target is None:
        return None
    return atomic_save_npz(Path(target) / name, dict(meta, key=key), **arrays)


def save_figure(fig, path, **kwargs):
    """A matplotlib figure saved atomically (format from the path's suffix)."""
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png", **kwargs)
    return atomic_write(path, buf.getvalue())


# ----------------------------------------------------------------------------- downloads
def verified_download(urls, check, target, timeout=30):
    """Fetch from the first of `urls` whose content passes `check(payload) -> None or a
    reason it fails`, and write it atomically to `target`. Raises OSError listing each
    mirror's failure when none serves a good file. Returns target."""
    target = Path(target)
    failures = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                payload = r.read()
        except (urllib.error.URLError, OSError, ValueError) as e:
            failures.append(f"{url}: {getattr(e, 'reason', e)}")
            continue
        reason = check(payload)
        if reason:
            failures.append(f"{url}: {reason}")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write(target, payload)
    raise OSError("\n  ".join(failures) if failures else "no mirror to download from")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- user paths
def _writable(folder):
    """Writable by us, and not marked read-only: a folder without any write permission bit
    is left alone even by a user (root) whom the system would let write."""
    return os.access(folder, os.W_OK | os.X_OK) and bool(Path(folder).stat().st_mode & 0o222)


def check_out_dir(path, what="--out"):
    """An output folder: an existing folder we can write into, or one we can create (its
    nearest existing parent is a writable folder). Nothing is created here."""
    p = Path(path)
    if p.exists():
        if not p.is_dir():
            raise PathError(f"{what} {p} is a file, not a folder")
        if not _writable(p):
            raise PathError(f"{what} {p} is not writable")
        return p
    parent = p.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise PathError(f"{what} {p}: {parent} is a file, not a folder")
    if not _writable(parent):
        raise PathError(f"{what} {p} cannot be created: {parent} is not writable")
    return p


def run_checkpoint(run):
    """A run folder means its checkpoint.npz; any other path is the checkpoint itself (not
    checked here: check_in_file does that)."""
    path = Path(run)
    return path / "checkpoint.npz" if path.is_dir() else path


def check_in_file(path, what="--checkpoint"):
    """An input file that must exist and be readable."""
    p = Path(path)
    if not p.exists():
        raise PathError(f"{what} {p} does not exist")
    if p.is_dir():
        raise PathError(f"{what} {p} is a folder, not a file")
    if not os.access(p, os.R_OK):
        raise PathError(f"{what} {p} is not readable")
    return p


def check_data_dir(path, what="--data-dir"):
    """A data folder: an existing folder (read-only is fine), or one that missing files can
    be downloaded into (it can be created)."""
    p = Path(path)
    if p.exists():
        if not p.is_dir():
            raise PathError(f"{what} {p} is a file, not a folder")
        return p
    return check_out_dir(p, what)


def writable_dir(candidates):
    """The first of `candidates` that is, or can be made, a writable folder (created); None if none."""
    for d in candidates:
        if d is None:
            continue
        try:
            check_out_dir(d, "cache")
            Path(d).mkdir(parents=True, exist_ok=True)
            return Path(d)
        except (PathError, OSError):
            continue
    return None
