"""One check for the import-graph tests: a directed graph has no cycle."""

from __future__ import annotations


def assert_no_cycle(graph: dict[str, set[str]]) -> None:
    """AssertionError naming the first cycle found (depth-first, in sorted order)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            assert state.get(n) != 1, " -> ".join(path + [m, n])
            if n not in state:
                visit(n, path + [m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
