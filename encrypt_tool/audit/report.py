"""Write an audit's results: markdown, JSON and a picture (plain / encrypted / attack output)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from encrypt_tool.figures import image_grid

__all__ = ["markdown", "picture", "write_report"]


def picture(
    columns: list[np.ndarray], path: str | Path, captions: list[str] | None = None
) -> Path | None:
    """Save columns of images as a PNG: columns[k] is (M, H, W, C) uint8 and becomes column k,
    M images down, under the caption captions[k]. None (with a warning) without matplotlib."""
    M, H, W, _ = columns[0].shape
    rows = [np.stack([col[m] for col in columns]) for m in range(M)]  # M x (K, H, W, C)
    scale = max(1, min(4, 128 // max(H, W)))  # small images 4x, large ones 1:1
    return image_grid(rows, path, col_labels=captions, scale=scale)


def _db(value: float | None) -> str:
    """PSNR in dB; None when every image was reconstructed exactly (infinite PSNR)."""
    return "inf (all exact)" if value is None else f"{value:.2f}"


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def markdown(summary: dict) -> str:
    """The human-readable report of one audit."""
    s, ks = summary["settings"], summary["key_space"]
    lines = [
        "# bs-encrypt security audit",
        "",
        f"File `{summary['file']}`, split `{s['split']}`, {summary['samples']} images "
        f"({summary.get('selection', 'as chosen')}), "
        f"block {s['block_size'][0]}x{s['block_size'][1]} ({s['grid'][0]}x{s['grid'][1]} grid), "
        f"N = {s['n_copies']} copies, augmentation: `{json.dumps(s['augment'])}`. "
        f"Key fingerprint {summary['key_fingerprint']}.",
        "",
        f"Key space: {ks['bits_per_copy']:.1f} bits per copy ({ks['blocks']} blocks), "
        f"{ks['bits_per_image']:.1f} bits for the {s['n_copies']} copies of an image. "
        "A brute-force search is not the threat; the attacks below are.",
        "",
        "| attack | direct comparison | neighbour comparison | perfect | largest segment "
        "| in segments of 4+ | recognisable | SSIM | PSNR (dB) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    rows = list(summary["attacks"].items())
    for key, label in (("union", "**union: leaked to any attack** (per image)"),
                       ("self_chosen", "self-chosen answer (attacker's own pick)")):
        if key in summary:
            rows.append((label, summary[key]))
    rows.append(("(no attack: encrypted image)", summary["encrypted"]))
    for name, a in rows:
        lines.append(
            f"| {name} | {_pct(a['direct'])} | {_pct(a['neighbour'])} | {_pct(a['perfect'])} "
            f"| {_pct(a['largest_segment'])} | {_pct(a['in_segments'])} "
            f"| {_pct(a['recognisable'])} | {a['ssim']:.3f} | {_db(a['psnr'])} |"
        )
    lines += [
        "",
        "Direct comparison: share of blocks in their true place. Neighbour comparison: share of "
        "true adjacent block pairs recovered. Perfect: images reconstructed exactly. Largest "
        "segment: share of the image covered by its largest correctly assembled piece (blocks "
        "joined by true neighbour pairs, wherever it sits), mean over images. In segments of "
        "4+: share of blocks in correct segments of at least 4 blocks. Recognisable: images "
        "whose largest segment covers at least 25% or whose blocks lie at least 50% in "
        "segments of 4+ (thresholds in docs/AUDIT.md). SSIM and "
        "PSNR against the plain (augmented) image; PSNR is the mean over images not reconstructed "
        "exactly. The attacks never use the key: the key only scores them. Union: an image "
        "counts as reassembled if any attack reassembles it, and its direct and neighbour "
        "scores are the best of any attack (choosing that attack takes the key, so this is "
        "the worst case for the data owner). Self-chosen answer: per image, the candidate "
        "with the lowest cost under the masked-prediction compatibility with side "
        "information, a choice an attacker makes without the key. Per-image rows are in "
        "audit.json (`per_image`).",
        "",
        f"Verdict: {summary['verdict']}",
        "",
        f"Picture `audit.png`: columns plain, encrypted, output of the best attack "
        f"({summary['best_attack']}), self-chosen answer. "
        f"Time: {summary['seconds']:.1f} s.",
        "",
    ] + _runs(summary)
    return "\n".join(lines)


def _learned_line(name: str, fig: dict) -> str:
    """One learned model: where it came from and its held-out figures."""
    where = "trained" if fig.get("from") == "trained" else f"cached ({fig.get('from')})"
    if "held_out_top1" in fig:
        skill = (f"held-out top-1 {_pct(fig['held_out_top1'])} among "
                 f"{fig.get('candidates', '?')} candidates")
    else:
        skill = "held-out " + ", ".join(f"{h} {_pct(v)}" for h, v in fig.get("held_out",
                                                                             {}).items())
    return (f"- `{name}`: {where}, {fig.get('steps', '?')} steps in "
            f"{fig.get('seconds', 0.0):.1f} s; {skill}.")


def _runs(summary: dict) -> list[str]:
    """What ran and for how long, the learned models, and what did not run and why."""
    out = []
    if summary.get("ran"):
        out.append("Attacks run (seconds): " + ", ".join(
            f"`{n}` {r['seconds']:.1f}" for n, r in summary["ran"].items()) + ".")
    learned = {n: f for n, f in summary.get("learned", {}).items() if isinstance(f, dict)}
    if learned:
        out += ["", f"Learned attacks' models (training "
                    f"{summary['learned'].get('training_seconds', 0.0):.1f} s, not counted in "
                    f"the attacks' time):"]
        out += [_learned_line(n, f) for n, f in learned.items()]
    if summary.get("not_run"):
        out += ["", "Not run: " + "; ".join(summary["not_run"]) + "."]
    if summary.get("not_applicable"):
        out += ["", "Not applicable to this file: " + ", ".join(
            f"`{n}`" for n in summary["not_applicable"]) + "."]
    return out + [""] if out else out


def write_report(
    summary: dict, images: list[np.ndarray], out_dir: str | Path, captions: list[str] | None = None
) -> dict:
    """Write audit.md, audit.json and audit.png into out_dir; returns their paths (audit.png
    only when matplotlib is installed; otherwise a warning says so)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / f"audit.{k}" for k in ("md", "json", "png")}
    paths["json"].write_text(json.dumps(summary, indent=2) + "\n")
    paths["md"].write_text(markdown(summary))
    if picture(images, paths["png"], captions) is None:
        paths.pop("png").unlink(missing_ok=True)  # no stale picture beside a new report
    return {k: str(v) for k, v in paths.items()}
