"""The audit at photo size: public-domain photos from scikit-image (skipped without it)."""

import numpy as np
import pytest

from encrypt_tool.audit import audit_arrays
from encrypt_tool.audit.attack import SideInfo
from encrypt_tool.audit.simulate import Settings, simulate
from experiments.photos import photos

pytest.importorskip("skimage")


@pytest.mark.slow
def test_paper_preset_photos_are_reported_as_leaking():
    x, _ = photos(2)  # astronaut, cat: 224 px
    plain, enc, _ = simulate(x, Settings(block=16, pad=28, gm_d_range=(98, 224)), seed=0)
    s, _ = audit_arrays(plain[:, 0], enc, (16, 16), SideInfo(pad=28))
    assert s["verdict"].startswith("LEAKS.")
    assert s["union"]["recognisable"] == 1.0 and s["union"]["neighbour"] > 0.8
    rows = np.array([r["union"]["largest_segment"] for r in s["per_image"]])
    assert (rows >= 0.25).all()
