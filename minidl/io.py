"""Atomic file writes: a crash while saving never leaves a half-written file in place of a good one."""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Call `write(f)` on a temporary file in `path`'s folder, fsync it, then rename it over `path`
    (atomic on POSIX and Windows within one file system): `path` is either the old file or the new
    one, never half-written, even after Ctrl-C or a crash."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes the file private (0600); a saved file should be readable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_savez(path: str | os.PathLike, compressed: bool = False, **arrays: np.ndarray) -> Path:
    """`np.savez(path, **arrays)` (or savez_compressed), written atomically."""
    path = Path(path)  # to a file object np.savez appends nothing: the file has exactly this name
    named: dict[str, Any] = dict(arrays)  # NumPy's stubs read a keyword as maybe its allow_pickle flag
    if compressed:
        return atomic_write(path, lambda f: np.savez_compressed(f, **named))
    return atomic_write(path, lambda f: np.savez(f, **named))


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of an .npz file, read through our own file handle (closed even when the file is
    damaged) and never unpickled. Raises FileNotFoundError, or ValueError saying what is wrong."""
    with open(path, "rb") as f:
        head = f.read(4)
        if head not in (b"PK\x03\x04", b"PK\x05\x06"):  # else np.load tries .npy and pickle, confusingly
            what = (
                "it is empty" if not head else "it is a .npy file" if head == b"\x93NUM" else f"it starts with {head!r}"
            )
            raise ValueError(f"not a .npz (zip) file, {what}")
        f.seek(0)
        try:
            with np.load(f, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as error:
            # a truncated or damaged file surfaces as any of these, depending on where the damage is
            raise ValueError(f"not a readable .npz file ({type(error).__name__}: {error})") from error
