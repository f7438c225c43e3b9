"""Scores of the recognition test: how often a classifier trained on plain images names the
true class of the plain image, of the encrypted copy, of the attacker's pick and of any attack.

The union counts an image as recognised when any attack's output is classified correctly: an
upper bound, and one that rises with the number of tries alone. Its chance level says how far:
an image whose outputs get k distinct classes would be "recognised" by k/K of the labels even if
the outputs carried nothing, so the mean of k/K is the union's score for outputs unrelated to
the image (K classes). Beside them, the audit's own judgement of the same outputs
(``encrypt_tool.audit.metrics.recognisable``: a correct segment covering a quarter of the image
or half of its blocks in correct segments of 4+), for the self-chosen answer and the union.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from experiments.recognition.attack import Attacked

__all__ = ["COLUMNS", "audit_seen", "score", "table", "union"]

COLUMNS = (  # (key, header)
    ("plain", "plain"),
    ("kept_true", "kept pixels in place"),
    ("scrambled", "scrambled"),
    ("self_chosen", "self-chosen"),
    ("union", "union"),
    ("union_variants", "union over global variants"),
)


def union(preds: np.ndarray, labels: np.ndarray, n_classes: int) -> tuple[np.ndarray, float]:
    """Predictions (A, M) of A outputs for M images -> (hit (M,) bool: some output is classified
    as the label, chance: mean share of the classes the outputs name)."""
    if preds.ndim != 2 or preds.shape[1] != len(labels):
        raise ValueError(f"predictions {preds.shape} do not fit {len(labels)} labels")
    if n_classes < 1:
        raise ValueError(f"n_classes {n_classes} is not valid; it must be >= 1")
    hit = (preds == labels[None]).any(axis=0)
    s = np.sort(preds, axis=0)  # (A, M)
    distinct = 1 + (np.diff(s, axis=0) != 0).sum(axis=0)  # (M,)
    return hit, float(distinct.mean() / n_classes)


def audit_seen(out: np.ndarray, truth: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """Whether the audit counts each output (M, H, W, C) as recognisable against truth (the
    kept pixels in place): (M,) bool."""
    from encrypt_tool.audit.metrics import recognisable, segment_scores

    return recognisable(*segment_scores(out, truth, block))


def score(a: Attacked, labels: np.ndarray, classify: Callable[[np.ndarray], np.ndarray],
          n_classes: int) -> dict:
    """Accuracy of ``classify`` ((M, H, W, C) uint8 -> (M,) classes) on each image set of ``a``.

    ``union``: any attack's output as given; ``union_variants``: also every whole-image
    transform of the outputs of the attacks that know the within-block transforms (None when no
    such attack ran). Per attack: accuracy as given, and best over global variants where it
    applies.
    """
    def acc(p: np.ndarray) -> float:
        return float((p == labels).mean())

    def seen(out: np.ndarray) -> np.ndarray:
        return audit_seen(out, a.kept_true, a.setting.block)

    preds = {name: classify(out) for name, out in a.outputs.items()}  # name -> (M,)
    hit, chance = union(np.stack(list(preds.values())), labels, n_classes)
    seen_any = np.any([seen(out) for out in a.outputs.values()], axis=0)  # (M,)
    r = {name: acc(classify(getattr(a, name))) for name in
         ("plain", "kept_true", "scrambled", "self_chosen")}
    r.update(union=float(hit.mean()), union_chance=chance, union_variants=None,
             union_variants_chance=None, audit_self_chosen=float(seen(a.self_chosen).mean()),
             audit_union=float(seen_any.mean()), n_attacks=len(preds), images=len(labels),
             attacks={n: {"acc": acc(p)} for n, p in preds.items()})
    if a.extended:
        every = [np.stack(list(preds.values()))]
        for name in a.extended:
            pv = []
            for v in a.variants(name):
                pv.append(classify(v))
                seen_any |= seen(v)
            pv = np.stack(pv)  # (V, M)
            r["attacks"][name].update(best_variant=float((pv == labels).any(axis=0).mean()),
                                      variants=len(pv))
            every.append(pv)
        hit_v, chance_v = union(np.concatenate(every), labels, n_classes)
        r.update(union_variants=float(hit_v.mean()), union_variants_chance=chance_v,
                 audit_union=float(seen_any.mean()))
    best = max(r["attacks"], key=lambda n: r["attacks"][n]["acc"])
    r["best_attack"] = {"name": best, "acc": r["attacks"][best]["acc"]}
    return r


def _cell(v: float | None, plain: float, chance: float | None = None) -> str:
    if v is None:
        return "n/a"
    ratio = f"{v / plain:.2f}x" if plain > 0 else "n/a"
    return f"{v:.1%} ({ratio}" + (f"; chance {chance:.0%})" if chance is not None else ")")


def table(results: dict[str, dict]) -> str:
    """A markdown table: one row per setting, each accuracy with its ratio to plain, and the
    share of images the audit counts as recognisable."""
    head = ["setting", *(h for _, h in COLUMNS), "best single attack",
            "audit: recognisable, self-chosen / union"]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for name, r in results.items():
        p = r["plain"]
        cells = [f"{p:.1%}"]
        for key, _ in COLUMNS[1:]:
            cells.append(_cell(r[key], p, r.get(f"{key}_chance")))
        cells.append(_cell(r["best_attack"]["acc"], p))
        cells.append(f"{r['audit_self_chosen']:.0%} / {r['audit_union']:.0%}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
