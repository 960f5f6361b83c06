"""Deciding with unknown inputs (private): a rule answers only when every value the unknowns could
take gives the same answer.

A rule enumerates the values of its unknown inputs and records, for each combination, the answer
it would give: ``outcomes`` maps a key — a tuple of ``(plain input name, value in words)`` for the
unknown inputs only — to that answer. :func:`mattering` names the inputs whose value changes the
answer; :func:`would_be` turns the outcomes into the ``details["would_be"]`` a not-assessable
finding carries, keeping only the inputs that matter.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping

Key = tuple[tuple[str, str], ...]


def mattering(outcomes: Mapping[Key, Hashable]) -> list[str]:
    """Names of the unknown inputs whose value changes the answer for some value of the others,
    in the order they first appear in the keys."""
    names: list[str] = []
    for key in outcomes:
        for name, _ in key:
            if name not in names:
                names.append(name)
    out = []
    for name in names:
        groups: dict[Key, set[Hashable]] = {}
        for key, answer in outcomes.items():
            groups.setdefault(tuple(kv for kv in key if kv[0] != name), set()).add(answer)
        if any(len(answers) > 1 for answers in groups.values()):
            out.append(name)
    return out


def would_be(outcomes: Mapping[Key, Hashable], say: Callable[[Hashable], str] = str) -> dict[str, str]:
    """``{"<input> <value>, ...": <answer in words>}`` over the inputs that matter."""
    matter = set(mattering(outcomes))
    out: dict[str, str] = {}
    for key, answer in outcomes.items():
        label = ", ".join(f"{name} {val}" for name, val in key if name in matter) or "as given"
        out[label] = say(answer)
    return out
