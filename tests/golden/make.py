"""The golden cases: what every format version's files must decrypt to, recorded as hashes.

    PYTHONPATH=. python tests/golden/make.py      # record the cases not yet recorded

Each case is a tiny dataset (4 training images x 2 copies and 2 test images of 16x16x3, 4x4
blocks; the JPEG case 8x8 blocks, on the JPEG grid) written with the test-only key
``golden.key`` and a fixed seed. No data file is kept: the tests write the cases again and
compare them with the hashes recorded here, once and never rewritten:
- ``v2-decrypted.json``: SHA-256 of every split's and copy's decrypted pixels and labels (of
  JPEG copies: as decoded, then decrypted); ``v2-stored.json``: of the stored bytes and ids, so
  a change of the version-2 keying or layout fails;
- ``v1-keying.json``: the same cases' decrypted copies encrypted again with version 1's keying
  (the keying version-1 files are read with). Checked against the files the version-1 tool
  wrote: this keying reproduced every stored byte of each of them.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
KEY = HERE / "golden.key"  # a test-only key: it protects nothing
CASES = {
    "plain.h5": [],
    "folder": ["--shard-size", "3"],
    "drop-border.h5": ["--drop-border", "1"],
    "rotate.h5": ["--rotate"],
    "negpos.h5": ["--negpos"],
    "channel-perm.h5": ["--channel-perm"],
    "jpeg.h5": ["--store", "jpeg:90", "--block-size", "8"],  # version 2 only
}
V1_CASES = [n for n in CASES if n != "jpeg.h5"]
RECORDS = {k: HERE / f"{k}.json" for k in ("v2-decrypted", "v2-stored", "v1-keying")}


def source(d: Path) -> Path:
    """The npz source: random 16x16x3 images, fixed by a seed."""
    rng = np.random.default_rng(23)
    p = d / "src.npz"
    np.savez(p, train_images=rng.integers(0, 256, (4, 16, 16, 3), np.uint8),
             train_labels=np.array([0, 1, 0, 1]),
             test_images=rng.integers(0, 256, (2, 16, 16, 3), np.uint8),
             test_labels=np.array([1, 0]), class_names=np.array(["a", "b"]))
    return p


def write(name: str, src: Path, out_dir: Path) -> Path:
    """Case ``name`` written by this code's ``bs-encrypt dataset`` into ``out_dir``. The source
    is named relative to its folder: the name is part of the dataset id, which keys the content,
    so a temporary folder's name must not enter it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / name
    cmd = [str(Path(sys.executable).parent / "bs-encrypt"), "dataset",
           "--source", f"npz:{src.name}", "--n-keys", "2", "--block-size", "4", "--seed", "7",
           "--jobs", "1", "--quiet",
           "--key", str(KEY), "--out", str(target.resolve()) + ("/" if "." not in name else ""),
           *CASES[name]]
    subprocess.run(cmd, check=True, cwd=src.parent)
    return target  # a later --block-size overrides the first


def _copies(path: Path, key: bytes):
    """(split, copy, batch as stored, decrypted pixels) of every split and copy of ``path``."""
    from bsformat.reader import open_dataset
    from encrypt_tool.decrypt import decrypt_images

    with open_dataset(path) as ds:
        for split in sorted(ds.info.splits):
            for copy in range(ds.split(split).n_copies):
                plain, _ = decrypt_images(ds, key, split, copy)
                yield ds.info, split, copy, ds.read(split, None, copy), plain


def _sha(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def digest(path: Path, key: bytes) -> dict[str, str]:
    """SHA-256 of the decrypted pixels and labels of every split and copy of ``path``."""
    return {f"{s}/{c}": _sha(plain.astype(np.uint8), b.labels.astype("<i8"))
            for _, s, c, b, plain in _copies(path, key)}


def stored(path: Path, key: bytes) -> dict[str, str]:
    """SHA-256 of the stored images and ids of every split and copy of ``path``."""
    return {f"{s}/{c}": _sha(np.asarray(b.images), b.ids.astype("<i8"))
            for _, s, c, b, _ in _copies(path, key)}


def v1_encrypted(info, split: str, copy: int, ids: np.ndarray, plain: np.ndarray,
                 key: bytes) -> np.ndarray:
    """``plain`` (decrypted copy ``copy``) encrypted again with version 1's keying."""
    from encrypt_tool.defences import DefenceConfig
    from encrypt_tool.keyed import encrypt_copy

    block = tuple((info.defences or {}).get("source_block_size") or info.block_size)
    d = DefenceConfig.from_dict(info.defences)
    d = d.resolve(block, tuple(plain.shape[1:])) if d.active else None
    return encrypt_copy(plain, key, bytes.fromhex(info.dataset_id), split, ids, copy, block, d,
                        version=1)


def v1_keying(path: Path, key: bytes) -> dict[str, str]:
    """SHA-256 of every copy of ``path`` encrypted again with version 1's keying."""
    return {f"{s}/{c}": _sha(v1_encrypted(info, s, c, b.ids, plain, key))
            for info, s, c, b, plain in _copies(path, key)}


def main() -> None:
    from keys.master import load_key

    key = load_key(KEY)
    records = {RECORDS["v2-decrypted"]: (digest, CASES), RECORDS["v2-stored"]: (stored, CASES),
               RECORDS["v1-keying"]: (v1_keying, V1_CASES)}
    with tempfile.TemporaryDirectory() as tmp:
        src = source(Path(tmp))
        for path, (fn, names) in records.items():
            have = json.loads(path.read_text()) if path.exists() else {}
            for name in (n for n in names if n not in have):  # never rewritten
                have[name] = fn(write(name, src, Path(tmp) / path.stem), key)
            path.write_text(json.dumps(have, indent=1, sort_keys=True) + "\n")
            print(f"{path}: {len(have)} cases")


if __name__ == "__main__":
    main()
