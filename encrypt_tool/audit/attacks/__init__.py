"""The registry of the audit's attacks: the battery runs what it holds, in this order.

Adding an attack: one new module here that defines an :class:`~.base.Attack`, and one line
below. ``bs-encrypt audit --attacks a,b`` chooses among them; ``--list-attacks`` names them.
"""

from __future__ import annotations

from encrypt_tool.audit.attacks.base import NEEDS, Answer, Attack, Context
from encrypt_tool.audit.attacks.clusters import CLUSTERS
from encrypt_tool.audit.attacks.dense import DENSE
from encrypt_tool.audit.attacks.edges import EDGES, EDGES_NOGAP
from encrypt_tool.audit.attacks.learned import LEARNED_PAIRS, LEARNED_STATES
from encrypt_tool.audit.attacks.side import SIDE

__all__ = ["NEEDS", "REGISTRY", "Answer", "Attack", "Context", "choose", "listing"]

REGISTRY: dict[str, Attack] = {a.name: a for a in (
    EDGES,
    SIDE,
    EDGES_NOGAP,
    DENSE,
    CLUSTERS,
    LEARNED_PAIRS,
    LEARNED_STATES,
)}


def choose(names: str | list[str] | None) -> tuple[Attack, ...]:
    """The attacks named (comma-separated or a list; registry order), all when None;
    ValueError naming an unknown one and the known ones."""
    if names is None:
        return tuple(REGISTRY.values())
    wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names)]
    wanted = [n for n in wanted if n]
    bad = [n for n in wanted if n not in REGISTRY]
    if bad or not wanted:
        what = f"{bad[0]!r} is not an attack" if bad else "no attack is named"
        raise ValueError(f"--attacks: {what}; choose from {', '.join(REGISTRY)}")
    return tuple(a for name, a in REGISTRY.items() if name in wanted)


def listing() -> str:
    """One line per attack: name, what it does, what it uses."""
    width = max(len(n) for n in REGISTRY)
    rows = []
    for a in REGISTRY.values():
        uses = f" [uses: {', '.join(a.needs)}]" if a.needs else ""
        rows.append(f"{a.name:<{width}}  {a.about}{uses}")
    return "\n".join(rows)
