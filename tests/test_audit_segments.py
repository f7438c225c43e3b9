"""Recognisability scores: correct segments of a reconstruction, and the verdict they drive."""

import numpy as np
import pytest

from encrypt_tool.audit.metrics import recognisable, segment_scores
from encrypt_tool.audit.pieces import assemble, to_pieces
from encrypt_tool.audit.scoring import verdict as _verdict
from encrypt_tool.audit.segments import label_segments, segment_sizes


def noise(m: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """Images whose blocks are all different: (m, size, size, 3) uint8."""
    return np.random.default_rng(seed).integers(0, 256, (m, size, size, 3), dtype=np.uint8)


def test_label_segments_joins_only_accepted_edges():
    right = np.array([[[True, False], [False, False], [True, True]]])  # (1, 3, 2)
    down = np.array([[[False, False, True], [False, False, True]]])  # (1, 2, 3)
    lab = label_segments(right, down)
    assert lab[0].tolist() == [[0, 0, 2], [3, 4, 2], [2, 2, 2]]
    assert segment_sizes(lab)[0].tolist() == [[2, 2, 5], [1, 1, 5], [5, 5, 5]]


def test_exact_reconstruction_is_one_segment():
    x = noise(2)
    largest, share = segment_scores(x, x, (8, 8))
    assert largest.tolist() == [1.0, 1.0] and share.tolist() == [1.0, 1.0]


def test_swapped_halves_keep_two_correct_segments():
    x = noise(1)
    y = np.concatenate([x[:, :, 16:], x[:, :, :16]], axis=2)  # halves swapped: 2x4 blocks each
    largest, share = segment_scores(y, x, (8, 8))
    assert largest[0] == 0.5 and share[0] == 1.0
    assert recognisable(largest, share)[0]


def test_scattered_blocks_form_no_segment():
    x = noise(1, seed=3)
    p = to_pieces(x, (8, 8))
    order = np.array([[0, 2, 8, 10, 5, 7, 13, 15, 1, 3, 9, 11, 4, 6, 12, 14]])  # no true pair
    y = assemble(p, order, (4, 4))
    largest, share = segment_scores(y, x, (8, 8))
    assert largest[0] == 1 / 16 and share[0] == 0.0
    assert not recognisable(largest, share)[0]


@pytest.mark.parametrize("perfect, recog, neighbour, word", [
    (0.11, 0.9, 0.8, "LEAKS."),  # the photos: few exact, all recognisable
    (0.0, 0.2, 0.6, "LEAKS."),
    (0.0, 0.0, 0.47, "LEAKS PARTLY."),
    (0.0, 0.0, 0.1, "LEAKS PARTLY."),  # in_segments 0.3: fragments can be seen
])
def test_verdict_says_leaks_when_images_are_recognisable(perfect, recog, neighbour, word):
    worst = {"perfect": perfect, "recognisable": recog, "neighbour": neighbour,
             "in_segments": 0.3}
    assert _verdict(worst).startswith(word)


def test_verdict_resisted_only_without_fragments():
    worst = {"perfect": 0.0, "recognisable": 0.0, "neighbour": 0.2, "in_segments": 0.05}
    assert _verdict(worst).startswith("Resisted")
