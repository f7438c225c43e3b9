"""Docs follow the code: every option of every command is named in docs/USAGE.md, or in the doc
that USAGE.md points to for that command."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from encrypt_tool.cli import main as bs_encrypt
from experiments.cli import main as bs_reproduce
from trainer.cli import main as bs_train
from trainer.predict_cli import main as bs_predict

DOCS = Path(__file__).resolve().parents[1] / "docs"
# a command whose options live in another doc, which USAGE.md links
POINTS_TO = {"bs-encrypt audit": "AUDIT.md", "bs-encrypt dataset": "SCALE.md",
             "bs-encrypt query": "QUERY.md", "bs-train": "TRAINING.md"}


def _commands() -> list[tuple[str, click.Command]]:
    subs = [(f"bs-encrypt {n}", c) for n, c in sorted(bs_encrypt.commands.items())]
    return [("bs-encrypt", bs_encrypt), *subs, ("bs-train", bs_train),
            ("bs-predict", bs_predict), ("bs-reproduce", bs_reproduce)]


def _options(cmd: click.Command) -> list[str]:
    """The long names of a command's options (each flag pair's both names)."""
    return [o for p in cmd.params if isinstance(p, click.Option)
            for o in p.opts + p.secondary_opts if o.startswith("--")]


def _named(option: str, text: str) -> bool:
    return re.search(re.escape(option) + r"(?![\w-])", text) is not None


@pytest.mark.parametrize("name, cmd", _commands(), ids=[n for n, _ in _commands()])
def test_every_option_is_documented(name, cmd):
    usage = (DOCS / "USAGE.md").read_text()
    text = usage
    if name in POINTS_TO:
        doc = POINTS_TO[name]
        assert f"]({doc}" in usage, f"USAGE.md does not link {doc} for {name}"
        text += (DOCS / doc).read_text()
    missing = [o for o in _options(cmd) if not _named(o, text)]
    assert not missing, f"{name}: {', '.join(missing)} in no doc"
