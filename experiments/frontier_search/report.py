"""The search's tables and charts: leakage per setting (stage a) and the Pareto front of
leakage against accuracy (stages b-d), in Markdown with the command of every row."""

from __future__ import annotations

from pathlib import Path

from experiments.frontier_search.goal import GOALS
from experiments.frontier_search.store import strongest

__all__ = ["leakage_table", "pareto", "pareto_table", "write_report"]


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _adds(row: dict) -> str:
    """The attacks that add neighbour pairs to the union, largest first (points)."""
    adds = sorted(((a["adds"]["neighbour"], n) for n, a in row.get("attacks", {}).items()),
                  reverse=True)
    shown = [f"{n} +{100 * v:.1f}" for v, n in adds if v > 0.0005]
    return ", ".join(shown) or "none alone"


def leakage_table(rows: list[dict]) -> str:
    """Stage (a): one line per setting, the union and where it came from."""
    lines = ["| setting | options | pixels kept | exact | neighbours | recognisable | meets "
             "goal | learned only (nbrs) | others only (nbrs) | only this attack adds (nbrs, "
             "points) | wall s | of which learned training s | load |",
             "| --- | --- | ---: | ---: | ---: | ---: | :---: | ---: | ---: | --- | ---: | ---: "
             "| ---: |"]
    for r in rows:
        goal = GOALS[r["data"]]
        learned, others = r.get("learned") or {}, r.get("not_learned") or {}
        steps = r.get("attack_steps", 300)
        name = r["setting"] + ("" if steps == 300 else f" (learned: {steps} steps)")
        lines.append(
            f"| {name} | `{r['options']}` | {r['pixels_kept']:.0%} | "
            f"{_pct(r['perfect'])} | {_pct(r['neighbour'])} | {_pct(r['recognisable'])} | "
            f"{'yes' if goal.met(r) else 'no'} | {_pct(learned.get('neighbour'))} | "
            f"{_pct(others.get('neighbour'))} | {_adds(r)} | {r['wall_s']:.0f} | "
            f"{r.get('training_s') or 0:.0f} | {r['load'][0]:.1f} |")
    return "\n".join(lines) + "\n"


def pareto(points: list[tuple[float, float]]) -> list[bool]:
    """For (leakage, accuracy) points: whether each is on the front (no other point leaks as
    little or less and is as accurate or more, with one of the two strictly)."""
    return [not any(x2 <= x and y2 >= y and (x2 < x or y2 > y) for x2, y2 in points)
            for x, y in points]


def _joined(leak: list[dict], acc: list[dict]) -> list[dict]:
    by = strongest(leak)
    out = []
    for a in acc:
        lk = by.get(a["setting"])
        plain = a["setting"].startswith("plain")
        out.append({**a, "perfect": 1.0 if plain else (lk or {}).get("perfect"),
                    "neighbour": 1.0 if plain else (lk or {}).get("neighbour"),
                    "recognisable": 1.0 if plain else (lk or {}).get("recognisable"),
                    "meets": (not plain) and lk is not None and GOALS[a["data"]].met(lk)})
    return out


def pareto_table(leak: list[dict], acc: list[dict]) -> tuple[str, list[dict]]:
    """Stages b-d: accuracy beside leakage, the front marked; returns the table and rows."""
    rows = [r for r in _joined(leak, acc) if r["neighbour"] is not None]
    front = pareto([(r["neighbour"], r["acc_tta"]) for r in rows])
    lines = ["| setting | budget | model | variant | seed | exact | neighbours | recognisable | "
             "meets goal | with TTA | on the front | train s | load | commands |",
             "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | :---: | ---: | :---: | ---: | "
             "---: | --- |"]
    for r, f in sorted(zip(rows, front, strict=True), key=lambda p: -p[0]["acc_tta"]):
        r["front"] = f
        cmds = "<br>".join(f"`{c}`" for c in r["commands"])
        lines.append(f"| {r['setting']} | {r['budget']} | {r['model']} | "
                     f"{r.get('variant', 'base')} | {r.get('seed', 0)} | {_pct(r['perfect'])} "
                     f"| {_pct(r['neighbour'])} | {_pct(r['recognisable'])} | "
                     f"{'yes' if r['meets'] else 'no'} | {_pct(r['acc_tta'])} | "
                     f"{'yes' if f else ''} | {r['train_s']:.0f} | {r['load'][0]:.1f} | {cmds} |")
    return "\n".join(lines) + "\n", rows


def write_report(leak: list[dict], acc: list[dict], out: Path) -> Path:
    """search.md in ``out``, with leakage.png (stage a) and pareto.png (b-d) beside it."""
    from encrypt_tool.figures import bar_chart, scatter_chart

    parts = ["# Frontier search", ""]
    if leak:
        parts += ["## Leakage (stage a)", "", leakage_table(leak)]
        groups = [(r["setting"].replace("-", "\n", 2),
                   [("union", 100 * r["neighbour"]),
                    ("learned only", 100 * (r.get("learned") or {}).get("neighbour", 0.0)),
                    ("others only", 100 * (r.get("not_learned") or {}).get("neighbour", 0.0))])
                  for r in leak[:12]]
        bar_chart(groups, out / "leakage.png", "Neighbour pairs recovered, per setting",
                  ylabel="% of true neighbour pairs")
    if acc:
        table, rows = pareto_table(leak, acc)
        parts += ["## Accuracy against leakage (stages b-d)", "", table]
        series: dict[str, list[tuple[float, float, str]]] = {}
        for r in rows:
            series.setdefault(f"{r['model']}, {r['budget']}", []).append(
                (r["neighbour"], r["acc_tta"], r["setting"]))
        if series:
            scatter_chart(series, out / "pareto.png",
                          xlabel="true neighbour pairs the audit recovers (union)",
                          ylabel="test accuracy (flip TTA)",
                          title="Accuracy against leakage (further left: less leaks)")
    path = out / "search.md"
    path.write_text("\n".join(parts) + "\n")
    return path
