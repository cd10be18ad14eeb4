"""Line diffs of definition sources, as rows a template can colour.

What it owns: comparing two source texts (two versions of one definition file) line by line with
`difflib`, and returning a unified diff as plain data — hunks of rows, each row saying whether the
line is the same, added or removed, with its line number in the old and in the new text.

What it must never do: import Django, or produce markup. Escaping belongs to whoever renders the
rows (the admin's template escapes automatically).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

__all__ = ["SAME", "ADDED", "REMOVED", "DiffRow", "Hunk", "line_diff"]

SAME, ADDED, REMOVED = "same", "added", "removed"


@dataclass(frozen=True)
class DiffRow:
    """One line of a diff. `old_number` is None for an added line, `new_number` for a removed one."""

    kind: str  # SAME, ADDED or REMOVED
    old_number: int | None
    new_number: int | None
    text: str


@dataclass(frozen=True)
class Hunk:
    """A run of changes with its unchanged context, as in `diff -u`."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    rows: tuple[DiffRow, ...]

    @property
    def header(self) -> str:
        """The unified-diff hunk header, e.g. `@@ -3,7 +3,8 @@`, written as difflib.unified_diff writes it."""
        return f"@@ -{_range(self.old_start, self.old_count)} +{_range(self.new_start, self.new_count)} @@"


def _range(start, count):
    # as diff -u writes it: a single line is just its number; an empty range names the line before it
    if count == 1:
        return str(start)
    return f"{start if count else start - 1},{count}"


def line_diff(old: str, new: str, *, context: int | None = 3) -> list[Hunk]:
    """The changes that turn `old` into `new`, as hunks with `context` unchanged lines around each.

    `context=None` gives one hunk holding every line of both texts. Identical texts give no hunks.
    Line endings (\\n, \\r\\n) do not count as a difference."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    if context is None:
        groups = [matcher.get_opcodes()] if old_lines != new_lines else []
    else:
        groups = [group for group in matcher.get_grouped_opcodes(context)
                  if any(tag != "equal" for tag, *_ in group)]
    hunks = []
    for group in groups:
        rows = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [DiffRow(SAME, i + 1, j + 1, old_lines[i]) for i, j in zip(range(i1, i2), range(j1, j2))]
                continue
            # a replacement reads as its removed lines, then its added ones, as in diff -u
            rows += [DiffRow(REMOVED, i + 1, None, old_lines[i]) for i in range(i1, i2)]
            rows += [DiffRow(ADDED, None, j + 1, new_lines[j]) for j in range(j1, j2)]
        first, last = group[0], group[-1]
        hunks.append(Hunk(old_start=first[1] + 1, old_count=last[2] - first[1],
                          new_start=first[3] + 1, new_count=last[4] - first[3], rows=tuple(rows)))
    return hunks
