"""Write the golden files of the format version this code writes, and their expected hashes.

    PYTHONPATH=. python tests/golden/make.py

Each case is a tiny dataset (4 training images x 2 copies and 2 test images of 16x16x3, 4x4
blocks; the JPEG case 8x8 blocks, on the JPEG grid) written with the test-only key
``golden.key`` and a fixed seed, into ``tests/golden/v{VERSION}/``; ``expected.json`` records
the SHA-256 of every split's and copy's decrypted pixels and labels (of JPEG copies: as decoded,
then decrypted). Files of a version, once committed, are never rewritten: every later reader
must read them and decrypt them to these hashes (tests/test_golden.py). A case added later is
written alone, beside the version's existing files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
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
    "jpeg.h5": ["--store", "jpeg:90", "--block-size", "8"],  # added in version 2
}


def source(d: Path) -> Path:
    """The npz source: random 16x16x3 images, fixed by a seed."""
    rng = np.random.default_rng(23)
    p = d / "src.npz"
    np.savez(p, train_images=rng.integers(0, 256, (4, 16, 16, 3), np.uint8),
             train_labels=np.array([0, 1, 0, 1]),
             test_images=rng.integers(0, 256, (2, 16, 16, 3), np.uint8),
             test_labels=np.array([1, 0]), class_names=np.array(["a", "b"]))
    return p


def digest(path: Path, key: bytes) -> dict[str, str]:
    """SHA-256 of the decrypted pixels and labels of every split and copy of ``path``."""
    from bsformat.reader import open_dataset
    from encrypt_tool.decrypt import decrypt_images

    out = {}
    with open_dataset(path) as ds:
        for split in sorted(ds.info.splits):
            for copy in range(ds.split(split).n_copies):
                plain, _ = decrypt_images(ds, key, split, copy)
                labels = ds.labels(split)
                h = hashlib.sha256(np.ascontiguousarray(plain, np.uint8).tobytes())
                h.update(labels.astype("<i8").tobytes())
                out[f"{split}/{copy}"] = h.hexdigest()
    return out


def main() -> None:
    from bsformat.format import FORMAT_VERSION
    from keys.master import load_key

    out_dir = HERE / f"v{FORMAT_VERSION}"
    listed = out_dir / "expected.json"
    expected = json.loads(listed.read_text()) if listed.exists() else {}
    todo = {name: extra for name, extra in CASES.items() if name not in expected}
    if not todo:
        sys.exit(f"{out_dir} holds every case: golden files are never rewritten")
    key = load_key(KEY)
    with tempfile.TemporaryDirectory() as tmp:
        src = source(Path(tmp))
        stage = Path(tmp) / "out"
        stage.mkdir()
        for name, extra in todo.items():
            if (out_dir / name).exists():
                sys.exit(f"{out_dir / name} exists: golden files are never rewritten")
            target = stage / name
            cmd = [str(Path(sys.executable).parent / "bs-encrypt"), "dataset", "--source",
                   f"npz:{src}", "--n-keys", "2", "--block-size", "4", "--seed", "7",
                   "--jobs", "1", "--quiet", "--key", str(KEY),
                   "--out", str(target) + ("/" if "." not in name else ""), *extra]
            subprocess.run(cmd, check=True)  # a later --block-size overrides the first
            expected[name] = digest(target, key)
        shutil.copytree(stage, out_dir, dirs_exist_ok=True)
    listed.write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"wrote {', '.join(todo)} into {out_dir}")


if __name__ == "__main__":
    main()
