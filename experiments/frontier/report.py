"""The frontier's results written out: one row per (setting, model) run, frontier.{json,csv,md}
and its charts (accuracy against leakage; what the audit recovers per setting)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from experiments.settings import FRONTIER

__all__ = ["LEAK_KEYS", "chart", "leak_chart", "rows", "write"]

LEAK_BARS = (("neighbours found", "neighbour"), ("exact reassembly", "perfect"),
             ("recognisable", "recognisable"))
LEAK_KEYS = ("perfect", "neighbour", "recognisable", "in_segments", "largest_segment")


def rows(results: dict) -> list[dict]:
    """One row per (setting, model) run; a setting audited but not trained gets one row."""
    known = {s.name: s for s in FRONTIER}
    out = []
    for name, res in results.items():
        s = known[name]
        leak = res.get("leak") or {}
        base = {"setting": name, "options": s.options(), "block": s.block[0], "kept": s.kept[0],
                "pixels_kept": s.pixels_kept, **{k: leak.get(k) for k in LEAK_KEYS},
                "audit_samples": leak.get("samples"), "audit_s": leak.get("wall_s")}
        if not s.scramble:
            base.update(perfect=1.0, neighbour=1.0)
        runs = res.get("models", {})
        if not runs:
            out.append({**base, "model": None, "acc": None, "acc_tta": None, "train_s": None,
                         "wall_s": None, "load": None})
        for key, r in runs.items():
            label, model = key.split("|")
            out.append({**base, "setting": label, "model": model, "acc": r["acc"],
                         "acc_tta": r["acc_tta"], "train_s": r["train_s"],
                         "wall_s": r["wall_s"], "load": r["load"][0]})
    return out


def _pct(v) -> str:
    return "n/a" if v is None else f"{v:.1%}"


def _num(v, fmt: str) -> str:
    return "" if v is None else format(v, fmt)


def write(summary: dict, out: Path) -> None:
    """frontier.json, .csv and .md (and the charts) of ``summary`` into ``out``."""
    got = rows(summary["results"])
    summary["rows"] = got
    (out / "frontier.json").write_text(json.dumps(summary, indent=2))
    if not got:
        return
    with open(out / "frontier.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(got[0]))
        w.writeheader()
        w.writerows(got)
    lines = ["| setting | pixels kept | exact reassembly | neighbours found | recognisable | "
             "blocks in segments of 4+ | model | test | with TTA | train s | load |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['setting']} | {r['pixels_kept']:.0%} | {_pct(r['perfect'])} | "
              f"{_pct(r['neighbour'])} | {_pct(r['recognisable'])} | "
              f"{_pct(r['in_segments'])} | {r['model'] or 'not trained'} | {_pct(r['acc'])} | "
              f"{_pct(r['acc_tta'])} | "
              f"{_num(r['train_s'], '.0f')} | {_num(r['load'], '.1f')} |"
              for r in got]
    skipped = [f"- {name}: {'; '.join(res['leak']['not_run'])}"
               for name, res in summary["results"].items()
               if (res.get("leak") or {}).get("not_run")]
    if skipped:
        lines += ["", "Attacks the audit could not run (their figures are not in the union):",
                  *skipped]
    (out / "frontier.md").write_text("\n".join(lines) + "\n")
    drawn = [r for r in got if r["neighbour"] is not None and r["acc_tta"] is not None]
    if drawn:
        chart(drawn, out / "frontier.png")
    leak_chart(summary["results"], out / "leakage.png")


def chart(rows: list[dict], path: Path) -> Path | None:
    """Accuracy with TTA against leaked neighbours, one colour per model, each point named by
    its setting. None (with a warning) without matplotlib."""
    from encrypt_tool.figures import scatter_chart

    series: dict[str, list[tuple[float, float, str]]] = {}
    for r in rows:
        series.setdefault(r["model"], []).append((r["neighbour"], r["acc_tta"], r["setting"]))
    return scatter_chart(series, path, xlabel="true neighbour pairs the audit recovers",
                      ylabel="test accuracy (flip TTA)",
                      title="Test accuracy against leakage (further left: less leaks)")


def leak_chart(results: dict, path: Path) -> Path | None:
    """The audit's union per setting: neighbours found, exact reassembly, recognisable (%)."""
    from encrypt_tool.figures import bar_chart

    groups = [(name.replace(" + ", "\n+ ").replace(" ", "\n", 1),
               [(label, 100 * res["leak"][k]) for label, k in LEAK_BARS
                if res["leak"].get(k) is not None])
              for name, res in results.items() if res.get("leak")]
    if not groups:
        return None
    return bar_chart(groups, path, "What the audit recovers, per setting (union of its attacks)",
                     ylabel="% (of neighbour pairs, of images)")
