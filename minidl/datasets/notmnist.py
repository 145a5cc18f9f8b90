"""The notMNIST data set (letters A..J, 28x28 grayscale), in the style of `keras.datasets.mnist`.

    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = notmnist.load_data()

The data live in one file `notMNIST.npz` with `images` (18724, 28, 28) uint8 and `labels` (18724,) uint8
(0..9 for A..J), built from the public notMNIST_small archive (see `build_npz`). `load_data` finds it
(argument, environment variable, cache, download), checks it and applies the fixed seed-521 split
10,000 / 6,000 / 2,724 used by the ECE421 assignment this project reproduces.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import urllib.request
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np
from tqdm import tqdm

from ..io import atomic_write, read_npz

ARCHIVE_URL = "http://yaroslavvb.com/upload/notMNIST/notMNIST_small.tar.gz"
ARCHIVE_NAME = "notMNIST_small.tar.gz"
NPZ_NAME = "notMNIST.npz"
ENV_PATH = "MINIDL_NOTMNIST"  # path of the .npz file
ENV_CACHE_DIR = "MINIDL_CACHE_DIR"  # where downloads and built files are kept

CLASSES = "ABCDEFGHIJ"
IMAGE_SHAPE = (28, 28)
NUM_EXAMPLES = 18724  # 18,726 PNGs in notMNIST_small, two of them empty
# sha256 of images.tobytes() + labels.tobytes() for the full data set. It checks the arrays, not the file:
# the bytes of a .npz file depend on zip timestamps, so two identical builds give different file hashes.
SHA256 = "f08b61284fe03a695827238277db74733e20c2ea4f05b8d2dc2b3ee0c3608a2c"

SEED = 521
N_TRAIN, N_VALID = 10_000, 6_000  # the rest (2,724) is the test set


# ----------------------------------------------------------------------------------------------- loading


def load_data(
    path: str | os.PathLike | None = None,
    *,
    dtype=None,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
    verify: bool = True,
):
    """Load notMNIST split into train / validation / test sets.

    The file is looked for, in this order: `path`; the environment variable MINIDL_NOTMNIST; `notMNIST.npz`
    in `cache_dir` (default: $MINIDL_CACHE_DIR or ~/.cache/minidl), or built there from a
    `notMNIST_small.tar.gz` found there; finally, if `download`, the archive is downloaded from ARCHIVE_URL
    into the cache dir and the .npz built from it.

    Returns (x_train, y_train), (x_valid, y_valid), (x_test, y_test): x of shape (N, 28, 28), uint8 values in
    0..255 as every keras.datasets loader returns them (so the usual `x / 255` is right), or, with a float
    `dtype`, the images divided by 255 in that dtype; y of shape (N,), int64 labels 0..9 (A..J).
    N = 10000, 6000, 2724 for the full data set.
    Raises FileNotFoundError if no file is found, ValueError if the file is corrupt or (with `verify`)
    its checksum is wrong.
    """
    file = find_file(path, cache_dir=cache_dir, download=download)
    images, labels = load_arrays(file, verify=verify)
    return split(images, labels, dtype)


def find_file(
    path: str | os.PathLike | None = None, *, cache_dir: str | os.PathLike | None = None, download: bool = True
) -> Path:
    """Return the path of notMNIST.npz following `load_data`'s search order, building/downloading if needed."""
    if path is not None:
        # An explicit file that is missing is an error: silently using another file would hide the typo.
        return _existing(Path(path).expanduser(), "the path argument")
    if os.environ.get(ENV_PATH):
        return _existing(Path(os.environ[ENV_PATH]).expanduser(), f"the environment variable {ENV_PATH}")

    cache = Path(cache_dir or os.environ.get(ENV_CACHE_DIR) or Path.home() / ".cache" / "minidl").expanduser()
    npz, archive = cache / NPZ_NAME, cache / ARCHIVE_NAME
    if npz.is_file():
        return npz
    if archive.is_file():  # downloaded earlier (or copied there by hand): building needs no network
        build_npz(archive, npz)
        return npz

    if download:
        try:
            cache.mkdir(parents=True, exist_ok=True)
            download_archive(ARCHIVE_URL, archive)
        except OSError as e:  # urllib.error.URLError and socket errors are OSErrors
            # one clear error: the message names the cause, so the network's own traceback is left out
            raise FileNotFoundError(_not_found_message(npz, archive, f"failed: {e}")) from None
        build_npz(archive, npz)
        return npz
    raise FileNotFoundError(_not_found_message(npz, archive, "disabled (download=False)"))


def _existing(path: Path, where: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"notMNIST file {str(path)!r} given by {where} does not exist or is not a file")
    return path


def _not_found_message(npz: Path, archive: Path, download_status: str) -> str:
    return (
        f"notMNIST data set not found. Looked at:\n"
        f"  1. the path argument: not given\n"
        f"  2. the environment variable {ENV_PATH}: not set\n"
        f"  3. the cache: {npz} and {archive}: absent\n"
        f"  4. download of {ARCHIVE_URL}: {download_status}\n"
        f"Provide the file in one of these ways: load_data(path='.../notMNIST.npz'); "
        f"export {ENV_PATH}=/path/to/notMNIST.npz; copy notMNIST.npz (or notMNIST_small.tar.gz) into "
        f"{npz.parent} (set {ENV_CACHE_DIR} or cache_dir= to use another directory); "
        f"or call load_data(download=True) on a machine with internet access."
    )


def load_arrays(path: str | os.PathLike, *, verify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Read and check a notMNIST .npz file.

    Returns (images, labels): images uint8 (N, 28, 28) in 0..255, labels uint8 (N,) in 0..9.
    Raises ValueError naming the file if it is unreadable, truncated, has missing keys or wrong
    shapes/dtypes, or (with `verify`, for the full N = 18724 set) fails the SHA256 checksum.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"notMNIST file {str(path)!r} does not exist")
    fix = f"delete {path} and re-download it or rebuild it with build_npz()"
    try:
        arrays = read_npz(path)
    except ValueError as error:
        raise ValueError(f"{path}: {error}; {fix}") from error
    found = sorted(arrays)
    missing = sorted({"images", "labels"} - arrays.keys())
    if missing:
        raise ValueError(f"{path}: missing key(s) {missing} (found {found}); {fix}")
    images, labels = arrays["images"], arrays["labels"]

    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{path}: 'images' must be uint8 of shape (N, 28, 28), got {images.dtype} {images.shape}")
    if labels.dtype != np.uint8 or labels.shape != images.shape[:1]:
        raise ValueError(f"{path}: 'labels' must be uint8 of shape ({len(images)},), got {labels.dtype} {labels.shape}")
    if labels.size and labels.max() >= len(CLASSES):
        raise ValueError(f"{path}: labels must be in 0..{len(CLASSES) - 1}, found {labels.max()}")
    if verify and len(images) == NUM_EXAMPLES:  # small or custom builds have no reference checksum
        got = checksum(images, labels)
        if got != SHA256:
            raise ValueError(
                f"{path}: checksum mismatch: expected {SHA256}, got {got}; the file is corrupted or "
                f"not the standard notMNIST_small build; {fix} (or pass verify=False)"
            )
    return images, labels


def checksum(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA256 hex digest of images.tobytes() followed by labels.tobytes() (C order)."""
    h = hashlib.sha256()
    h.update(images.tobytes())
    h.update(labels.tobytes())
    return h.hexdigest()


def split(images: np.ndarray, labels: np.ndarray, dtype=None, *, n_train: int = N_TRAIN, n_valid: int = N_VALID):
    """Shuffle with seed 521 and split into train [:n_train], valid [n_train:n_train+n_valid], test [rest].

    images uint8 (N, 28, 28), labels (N,). Returns ((x, y), (x, y), (x, y)) with x the uint8 images
    (dtype None) or images / 255 of the float `dtype`, and y int64. Same order as the assignment's
    `np.random.seed(521); np.random.shuffle(order)`, without touching NumPy's global random state.
    """
    if len(images) != len(labels):
        raise ValueError(f"split: {len(images)} images but {len(labels)} labels")
    if dtype is not None and not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"split: dtype must be None (uint8 images) or a float type, got {dtype}")
    order = np.arange(len(images))
    np.random.RandomState(SEED).shuffle(order)  # the legacy generator that np.random.seed() seeds
    # A 256-entry table gives exactly (images / 255.0).astype(dtype), without a float64 copy of the data.
    x = images[order] if dtype is None else (np.arange(256) / 255.0).astype(dtype)[images[order]]
    y = labels[order].astype(np.int64)
    a, b = n_train, n_train + n_valid
    return (x[:a], y[:a]), (x[a:b], y[a:b]), (x[b:], y[b:])


# ---------------------------------------------------------------------------------- building the file


def build_npz(archive_path: str | os.PathLike, npz_path: str | os.PathLike) -> tuple[int, list[str]]:
    """Build notMNIST.npz from the notMNIST_small .tar.gz archive.

    Takes the PNGs `notMNIST_small/<A..J>/<name>.png`, classes in order A..J and files within a class
    sorted case-insensitively by name; empty or undecodable files are skipped. Writes `images` uint8
    (N, 28, 28) and `labels` uint8 (N,) atomically to `npz_path`.
    Returns (number of images written, names of the skipped archive members).
    """
    archive_path, npz_path = Path(archive_path), Path(npz_path)
    if not archive_path.is_file():
        raise FileNotFoundError(f"notMNIST archive {str(archive_path)!r} does not exist")

    # One sequential pass over the tar: seeking back and forth in a .gz would decompress it again each time.
    entries = []  # (label, sort key, member name, bytes)
    try:
        with tarfile.open(archive_path, "r:*") as tar:
            for member in tar:
                parts = PurePosixPath(member.name).parts
                if (
                    member.isfile()
                    and len(parts) >= 3
                    and parts[-3] == "notMNIST_small"
                    and parts[-2] in CLASSES
                    and parts[-1].lower().endswith(".png")
                ):
                    file = tar.extractfile(member)
                    if file is None:
                        raise tarfile.TarError(f"cannot read {member.name}")
                    data = file.read()
                    entries.append((CLASSES.index(parts[-2]), (parts[-1].lower(), parts[-1]), member.name, data))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise ValueError(
            f"{archive_path}: not a readable .tar.gz archive ({type(e).__name__}: {e}); delete it and download it again"
        ) from e
    if not entries:
        raise ValueError(f"{archive_path}: no notMNIST_small/<A..J>/*.png files in the archive")
    entries.sort(key=lambda e: e[:2])

    images, labels, skipped = [], [], []
    for label, _, name, data in tqdm(entries, desc="decoding notMNIST PNGs", unit="img"):
        image = _decode(data)
        if image is None:
            skipped.append(name)
        else:
            images.append(image)
            labels.append(label)
    if not images:
        raise ValueError(f"{archive_path}: none of the {len(entries)} PNG files could be decoded")

    images_arr = np.stack(images).astype(np.uint8)
    labels_arr = np.array(labels, dtype=np.uint8)
    atomic_write(npz_path, lambda f: np.savez_compressed(f, images=images_arr, labels=labels_arr))
    return len(images_arr), skipped


def _decode(data: bytes) -> np.ndarray | None:
    """A 28x28 grayscale PNG as uint8 (28, 28), or None if it is empty, broken or of another size."""
    from PIL import Image  # imported here so that loading a ready .npz does not need Pillow

    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as img:
            image = np.asarray(img.convert("L"), dtype=np.uint8)
    except Exception:  # Pillow raises many exception types (OSError, SyntaxError, ...) for broken files
        return None
    return image if image.shape == IMAGE_SHAPE else None


def download_archive(url: str, dest: str | os.PathLike) -> None:
    """Download `url` to `dest` (atomically) with a progress bar."""
    with urllib.request.urlopen(url, timeout=60) as response:
        total = int(response.headers.get("Content-Length") or 0) or None

        def write(f: BinaryIO) -> None:
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {Path(dest).name}") as bar:
                while chunk := response.read(1 << 16):
                    f.write(chunk)
                    bar.update(len(chunk))

        atomic_write(Path(dest), write)
