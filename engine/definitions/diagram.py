"""Flow diagrams: a flow definition drawn as one self-contained, inline SVG string.

What it owns: turning a flow definition dict (a parsed `*.flow.yaml`, e.g. `DefinitionVersion.data`)
into a picture an admin can read — states as boxes in rows by breadth-first distance from `start`,
transitions as arrows labelled with their titles, final states double-bordered, vote, public-notice
and timed states marked with a badge.

What it must never do: import Django, call a layout tool, or put definition text into the markup
unescaped. Every title comes from a community's files, so every piece of text goes through
`xml.sax.saxutils.escape` (element text) or `quoteattr` (attributes) right here.

Determinism: the same definition gives byte-identical SVG, whatever the order of its `states`
keys (PostgreSQL's jsonb does not keep the file's order; a JSON array does). The layout follows the
order of the `transitions` list, ties are broken by that order, nothing iterates over a set, and
every number is rounded the same way.

Layout, in brief. Rows are breadth-first layers from `start`; states nobody reaches (lint refuses
those) go in one last row, by name. Within a row, states are ordered by the mean position of their
predecessors in the row above (one barycentre sweep), then by discovery order. Transitions between
the same two states share one arrow with their titles stacked. An arrow to the next row is a curve;
any other arrow (back up, within a row, or skipping rows past a box) runs in the gaps between rows and
in a lane outside the boxes, so it never crosses a box. Labels try a few spots along their arrow and
take the first that overlaps no box and no other label.

Extension point: `Labels`, the few words the diagram adds itself (badges, the start marker, the
description for screen readers); the admin passes them translated.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

__all__ = ["Labels", "flow_svg"]

TITLE_SIZE, LABEL_SIZE, BADGE_SIZE = 14, 12, 11
LINE = 15  # height of one label line
PAD_X, MIN_WIDTH = 14, 96
H_GAP, ROW_GAP = 48, 104
CHANNEL, CHANNEL_STEP = 14, 8  # gap-channel offset from a row, and between channels
LANE, LANE_STEP = 22, 16  # lane offset from the outermost box, and between lanes
MARGIN = 16
INK, LINE_INK, AUTO_INK = "#1f2937", "#4b5563", "#92400e"
BADGES = {  # kind: (fill, text colour) — dark text on light fills keeps the contrast above 4.5:1
    "vote": ("#ede9fe", "#4c1d95"),
    "notice": ("#ccfbf1", "#134e4a"),
    "due": ("#fef3c7", "#78350f"),
}
AUTOMATIC_ACTORS = ("timer", "vote")


@dataclass(frozen=True)
class Labels:
    """Words the diagram adds on its own. Override them to translate; `{...}` fields are filled in."""

    diagram: str = "Flow diagram"
    start: str = "start"
    vote: str = "vote"
    notice: str = "public notice"
    due: str = "time limit"
    summary: str = "{states} states and {transitions} transitions; an item starts at “{start}”."
    finals: str = "Final states: {names}."
    arrow: str = "{source} → {target}: {titles}"


def text_of(value, language: str = "zh-hans") -> str:
    """A definition's text: a string, or one string per language (Chinese is always there)."""
    if isinstance(value, dict):
        return str(value.get(language) or value.get("zh-hans") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def text_width(text: str, size: float) -> float:
    """A good-enough width estimate: wide (CJK) characters are one em, the others 0.6 em."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.6 for ch in text)


def _n(value: float) -> str:
    """Coordinates rounded to 0.1, written the same way every time."""
    rounded = round(value + 0.0, 1)
    if rounded == int(rounded):
        return str(int(rounded))
    return f"{rounded:.1f}"


def _sources(transition) -> list[str]:
    sources = transition.get("from", [])
    return [sources] if isinstance(sources, str) else list(sources)


@dataclass
class _Box:
    name: str
    title: str
    final: bool
    badges: list  # (kind, text, with_clock)
    layer: int = 0
    width: float = MIN_WIDTH
    x: float = 0.0
    y: float = 0.0
    height: float = 40.0

    @property
    def cx(self):
        return self.x + self.width / 2

    @property
    def right(self):
        return self.x + self.width

    @property
    def bottom(self):
        return self.y + self.height


@dataclass
class _Edge:
    index: int
    source: str
    target: str
    titles: list = field(default_factory=list)  # (title, automatic)
    points: list = field(default_factory=list)
    curve: bool = False
    lane_side: str = ""
    label_spots: list = field(default_factory=list)  # (x, y, anchor)

    @property
    def automatic(self):
        return all(auto for _, auto in self.titles)


def _badges(state: dict, labels: Labels) -> list:
    badges = []
    if state.get("vote"):
        window = state["vote"].get("window", "") if isinstance(state["vote"], dict) else ""
        badges.append(("vote", f"{labels.vote} {window}".strip(), False))
    if state.get("notice"):
        period = state["notice"].get("period", "") if isinstance(state["notice"], dict) else ""
        badges.append(("notice", f"{labels.notice} {period}".strip(), True))
    if state.get("due"):
        badges.append(("due", f"{labels.due} {state['due']}", True))
    return badges


def _badge_width(badge) -> float:
    _, label, clock = badge
    return text_width(label, BADGE_SIZE) + 10 + (12 if clock else 0)


class _Layout:
    def __init__(self, flow: dict, language: str, labels: Labels):
        states = flow.get("states") or {}
        self.start = str(flow.get("start", ""))
        self.boxes: dict[str, _Box] = {}
        for name, state in states.items():
            state = state if isinstance(state, dict) else {}
            self.boxes[str(name)] = _Box(str(name), text_of(state.get("title"), language) or str(name),
                                         bool(state.get("final")), _badges(state, labels))
        self.edges: list[_Edge] = []
        by_pair: dict[tuple, _Edge] = {}
        for transition in flow.get("transitions") or []:
            title = text_of(transition.get("title"), language) or str(transition.get("name", ""))
            automatic = transition.get("by") in AUTOMATIC_ACTORS
            for source in _sources(transition):
                pair = (str(source), str(transition.get("to", "")))
                if pair not in by_pair:
                    by_pair[pair] = _Edge(len(self.edges), *pair)
                    self.edges.append(by_pair[pair])
                by_pair[pair].titles.append((title, automatic))
        for name in [self.start] + [n for e in self.edges for n in (e.source, e.target)]:
            if name not in self.boxes:  # named but not declared: lint refuses it; draw it anyway
                self.boxes[name] = _Box(name, name, False, [])
        self.rows = self._rows()
        self._place_boxes()
        self.label_boxes: list[tuple] = []
        self._route()

    # rows ------------------------------------------------------------------------------------
    def _rows(self) -> list[list[str]]:
        successors: dict[str, list[str]] = {}
        predecessors: dict[str, list[str]] = {}
        for edge in self.edges:
            successors.setdefault(edge.source, []).append(edge.target)
            predecessors.setdefault(edge.target, []).append(edge.source)
        layer = {self.start: 0}
        discovered = [self.start]
        queue = deque([self.start])
        while queue:
            name = queue.popleft()
            for target in successors.get(name, []):
                if target not in layer:
                    layer[target] = layer[name] + 1
                    discovered.append(target)
                    queue.append(target)
        unreached = sorted(name for name in self.boxes if name not in layer)  # by name: key order may vary
        if unreached:
            last = max(layer.values()) + 1
            for name in unreached:
                layer[name] = last
                discovered.append(name)
        rank = {name: i for i, name in enumerate(discovered)}
        rows: list[list[str]] = [[] for _ in range(max(layer.values()) + 1)]
        for name in discovered:
            rows[layer[name]].append(name)
            self.boxes[name].layer = layer[name]
        for depth in range(1, len(rows)):
            above = {name: i for i, name in enumerate(rows[depth - 1])}

            def key(name):
                places = [above[p] for p in predecessors.get(name, []) if p in above]
                return (sum(places) / len(places) if places else math.inf, rank[name])

            rows[depth].sort(key=key)
        return rows

    def _neighbours(self) -> dict[tuple, list]:
        """Edges between two states side by side in one row, keyed by the pair (left, right)."""
        place = {name: (depth, i) for depth, row in enumerate(self.rows) for i, name in enumerate(row)}
        pairs: dict[tuple, list] = {}
        for edge in self.edges:
            (d1, i1), (d2, i2) = place[edge.source], place[edge.target]
            if d1 == d2 and abs(i1 - i2) == 1:
                pair = (edge.source, edge.target) if i1 < i2 else (edge.target, edge.source)
                pairs.setdefault(pair, []).append(edge)
        return pairs

    def _place_boxes(self):
        height = 54 if any(box.badges for box in self.boxes.values()) else 40
        for box in self.boxes.values():
            badges = sum(_badge_width(b) for b in box.badges) + 4 * max(len(box.badges) - 1, 0)
            box.width = math.ceil(max(MIN_WIDTH, text_width(box.title, TITLE_SIZE) + 2 * PAD_X, badges + 2 * PAD_X))
            box.height = height
        self.neighbours = self._neighbours()
        gaps = {}  # room between two neighbours for the labels of the arrows between them
        for pair, edges in self.neighbours.items():
            widest = max(text_width(title, LABEL_SIZE) for edge in edges for title, _ in edge.titles)
            gaps[pair] = max(H_GAP, math.ceil(widest) + 28)
        widths = []
        for row in self.rows:
            widths.append(sum(self.boxes[n].width for n in row)
                          + sum(gaps.get((a, b), H_GAP) for a, b in zip(row, row[1:])))
        self.content_width = max(widths)
        self.row_top = []
        for depth, row in enumerate(self.rows):
            top = depth * (height + ROW_GAP)
            self.row_top.append(top)
            x = (self.content_width - widths[depth]) / 2
            for i, name in enumerate(row):
                box = self.boxes[name]
                box.x, box.y = x, top
                if i + 1 < len(row):
                    x += box.width + gaps.get((name, row[i + 1]), H_GAP)

    # arrows ----------------------------------------------------------------------------------
    def _row_extreme(self, first, last, side):
        boxes = [self.boxes[n] for row in self.rows[first:last + 1] for n in row]
        return max(b.right for b in boxes) if side == "right" else min(b.x for b in boxes)

    def _crosses_a_box(self, edge) -> bool:
        source, target = self.boxes[edge.source], self.boxes[edge.target]
        (x1, y1), (x2, y2) = (source.cx, source.bottom), (target.cx, target.y)
        for row in self.rows[source.layer + 1:target.layer]:
            for name in row:
                box = self.boxes[name]
                y = box.y + box.height / 2
                x = x1 + (x2 - x1) * (y - y1) / (y2 - y1)
                if box.x - 8 <= x <= box.right + 8:
                    return True
        return False

    def _route(self):
        ports: dict[tuple, list] = {}  # (state, "top"|"bottom") -> [(toward x, order, edge index or None)]
        lanes = {"left": 0, "right": 0}
        channels: dict[tuple, int] = {}
        plans = []
        beside = {edge.index: (pair, edges) for pair, edges in self.neighbours.items() for edge in edges}

        def channel(kind, depth):
            slot = channels.get((kind, depth), 0)
            channels[(kind, depth)] = slot + 1
            if kind == "above":
                return self.row_top[depth] - CHANNEL - CHANNEL_STEP * slot
            return self.row_top[depth] + self.boxes[self.rows[depth][0]].height + CHANNEL + CHANNEL_STEP * slot

        def attach(name, side, toward, edge_index):
            ports.setdefault((name, side), []).append((toward, edge_index, edge_index))

        curves = [e for e in self.edges if e.index not in beside and self._is_curve(e)]
        traffic_above = [sum(1 for e in curves if self.boxes[e.target].layer == d) for d in range(len(self.rows))]
        traffic_below = [sum(1 for e in curves if self.boxes[e.source].layer == d) for d in range(len(self.rows))]
        centre = self.content_width / 2
        for edge in self.edges:
            source, target = self.boxes[edge.source], self.boxes[edge.target]
            if source is target:
                plans.append((edge, "loop", None))
            elif edge.index in beside:
                plans.append((edge, "beside", beside[edge.index]))
            elif self._is_curve(edge):
                edge.curve = True
                attach(source.name, "bottom", target.cx, edge.index)
                attach(target.name, "top", source.cx, edge.index)
                plans.append((edge, "curve", None))
            elif target.layer == source.layer:  # same row, not side by side: through the quieter gap
                side = "bottom" if traffic_below[source.layer] <= traffic_above[source.layer] else "top"
                attach(source.name, side, target.cx, edge.index)
                attach(target.name, side, source.cx, edge.index)
                plans.append((edge, "row", (side, channel("below" if side == "bottom" else "above", source.layer))))
            else:
                side = "right" if (source.cx + target.cx) / 2 >= centre else "left"
                edge.lane_side = side
                first, last = sorted((source.layer, target.layer))
                offset = LANE + LANE_STEP * lanes[side]
                lanes[side] += 1
                extreme = self._row_extreme(first, last, side)
                x = extreme + offset if side == "right" else extreme - offset
                far = math.inf if side == "right" else -math.inf
                if target.layer < source.layer:  # back up: leave by the top, arrive from below
                    attach(source.name, "top", far, edge.index)
                    attach(target.name, "bottom", far, edge.index)
                    ys = (channel("above", source.layer), channel("below", target.layer))
                else:  # down past boxes in between
                    attach(source.name, "bottom", far, edge.index)
                    attach(target.name, "top", far, edge.index)
                    ys = (channel("below", source.layer), channel("above", target.layer))
                plans.append((edge, "lane", (x, *ys)))
        if self.start in self.boxes:
            ports.setdefault((self.start, "top"), []).append((self.boxes[self.start].cx, -1, None))

        self.port_x: dict[tuple, float] = {}
        for (name, side), attached in ports.items():
            box = self.boxes[name]
            attached.sort(key=lambda item: (item[0], item[1]))
            for i, (_, _, index) in enumerate(attached):
                self.port_x[(name, side, index)] = box.x + box.width * (i + 1) / (len(attached) + 1)

        for edge, kind, extra in plans:
            source, target = self.boxes[edge.source], self.boxes[edge.target]
            height = LINE * len(edge.titles)
            if kind == "loop":
                y = source.y + source.height / 2
                edge.points = [(source.right, y - 8), (source.right + 28, y - 26), (source.right + 28, y + 26),
                               (source.right, y + 8)]
                edge.curve = True
                edge.label_spots = [(source.right + 32, y, "start"), (source.right + 4, source.y - 10, "start")]
            elif kind == "beside":
                (left, right), edges = extra
                both_ways = len({e.source for e in edges}) == 2
                rightwards = edge.source == left
                y = source.y + source.height / 2 + ((-7 if rightwards else 7) if both_ways else 0)
                a, b = self.boxes[left], self.boxes[right]
                x1, x2 = (a.right, b.x) if rightwards else (b.x, a.right)
                edge.points = [(x1, y), (x2, y)]
                middle = (a.right + b.x) / 2
                label_y = y - 3 - height / 2 if rightwards or not both_ways else y + 3 + height / 2
                edge.label_spots = [(middle, label_y, "middle")]
            elif kind == "curve":
                x1, y1 = self.port_x[(source.name, "bottom", edge.index)], source.bottom
                x2, y2 = self.port_x[(target.name, "top", edge.index)], target.y
                bend = min(ROW_GAP, (y2 - y1)) / 2
                edge.points = [(x1, y1), (x1, y1 + bend), (x2, y2 - bend), (x2, y2)]
                edge.label_spots = [(*_cubic(edge.points, t), "middle")
                                    for t in (0.5, 0.4, 0.6, 0.3, 0.7, 0.25, 0.75, 0.2, 0.8)]
            elif kind == "row":
                side, y = extra
                x1, x2 = self.port_x[(source.name, side, edge.index)], self.port_x[(target.name, side, edge.index)]
                y1 = source.y if side == "top" else source.bottom
                edge.points = [(x1, y1), (x1, y), (x2, y), (x2, y1)]
                above = y - 2 - height / 2
                below = y + 2 + height / 2
                edge.label_spots = [(x1 + (x2 - x1) * f, ly, "middle")
                                    for ly in ((above, below) if side == "top" else (below, above))
                                    for f in (0.5, 0.3, 0.7)]
            else:
                x, y_out, y_in = extra
                out_side, in_side = ("top", "bottom") if target.layer < source.layer else ("bottom", "top")
                x1 = self.port_x[(source.name, out_side, edge.index)]
                x2 = self.port_x[(target.name, in_side, edge.index)]
                y1 = source.y if out_side == "top" else source.bottom
                y2 = target.bottom if in_side == "bottom" else target.y
                edge.points = [(x1, y1), (x1, y_out), (x, y_out), (x, y_in), (x2, y_in), (x2, y2)]
                anchor, dx = ("start", 5) if edge.lane_side == "right" else ("end", -5)
                edge.label_spots = [(x + dx, y_out + (y_in - y_out) * f, anchor) for f in (0.5, 0.3, 0.7, 0.15, 0.85)]
        self._place_labels()

    def _is_curve(self, edge) -> bool:
        down = self.boxes[edge.target].layer - self.boxes[edge.source].layer
        return down == 1 or (down > 1 and not self._crosses_a_box(edge))

    def _lines(self, edge) -> list[tuple]:
        """Thin rectangles along an arrow, for labels to keep off."""
        if edge.curve:
            samples = [_cubic(edge.points, i / 16) for i in range(17)] if len(edge.points) == 4 else edge.points
        else:
            samples = edge.points
        return [(min(x1, x2) - 1, min(y1, y2) - 1, max(x1, x2) + 1, max(y1, y2) + 1)
                for (x1, y1), (x2, y2) in zip(samples, samples[1:])]

    def _place_labels(self):
        boxes = [(b.x - 3, b.y - 3, b.right + 3, b.bottom + 3) for b in self.boxes.values()]
        lines = {edge.index: self._lines(edge) for edge in self.edges}
        self.placed = {}
        for edge in self.edges:
            width = max(text_width(title, LABEL_SIZE) for title, _ in edge.titles) + 6
            height = LINE * len(edge.titles)
            others = boxes + self.label_boxes + [r for e in self.edges if e.index != edge.index for r in lines[e.index]]
            spots = []
            for x, y, anchor in edge.label_spots:
                left = {"middle": x - width / 2, "start": x, "end": x - width}[anchor]
                spots.append((x, y, anchor, (left, y - height / 2, left + width, y + height / 2)))
            # the first spot that overlaps nothing; else the one that overlaps least
            choice = min(spots, key=lambda spot: sum(1 for other in others if _overlap(spot[3], other)))
            self.label_boxes.append(choice[3])
            self.placed[edge.index] = choice


def _cubic(points, t):
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points
    u = 1 - t
    return (u ** 3 * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t ** 3 * x3,
            u ** 3 * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t ** 3 * y3)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _clean_id(value: str) -> str:
    value = re.sub(r"[^A-Za-z0-9_-]", "-", value or "flow")
    return value if value[:1].isalpha() else f"f{value}"


def _clock(x, y) -> str:
    """A small clock drawn with two lines (no font has to have the glyph)."""
    return (f'<circle cx="{_n(x)}" cy="{_n(y)}" r="4.5" fill="none" stroke="currentColor" stroke-width="1.2"/>'
            f'<path d="M{_n(x)} {_n(y - 2.8)}V{_n(y)}H{_n(x + 2.2)}" fill="none" stroke="currentColor" '
            f'stroke-width="1.2" stroke-linecap="round"/>')


def flow_svg(flow: dict, *, language: str = "zh-hans", labels: Labels | None = None, id_prefix: str = "flow") -> str:
    """Draw `flow` (a flow definition dict) as an SVG string, safe to inline in an HTML page.

    `language` picks the text of multilingual titles; `labels` are the diagram's own words;
    `id_prefix` keeps element ids unique when one page shows several diagrams."""
    labels = labels or Labels()
    layout = _Layout(flow, language, labels)
    prefix = _clean_id(id_prefix)
    arrow_id, title_id, desc_id = f"{prefix}-arrow", f"{prefix}-title", f"{prefix}-desc"
    auto_arrow_id = f"{prefix}-arrow-auto"

    body: list[str] = []
    # arrows first, so that boxes and labels are drawn over them
    for edge in layout.edges:
        automatic = edge.automatic
        colour = AUTO_INK if automatic else LINE_INK
        points = edge.points
        if edge.curve:
            d = f"M{_n(points[0][0])} {_n(points[0][1])}C" + " ".join(f"{_n(x)} {_n(y)}" for x, y in points[1:])
        else:
            d = f"M{_n(points[0][0])} {_n(points[0][1])}" + "".join(f"L{_n(x)} {_n(y)}" for x, y in points[1:])
        dash = ' stroke-dasharray="6 4"' if automatic else ""
        body.append(f'<g class="transition{" automatic" if automatic else ""}" data-from={quoteattr(edge.source)} '
                    f'data-to={quoteattr(edge.target)}>'
                    f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.5"{dash} stroke-linejoin="round" '
                    f'marker-end="url(#{auto_arrow_id if automatic else arrow_id})"/></g>')
    labels_svg: list[str] = []
    for edge in layout.edges:
        x, y, anchor, rect = layout.placed[edge.index]
        top = rect[1]
        lines = []
        for i, (title, automatic) in enumerate(edge.titles):
            style = f' fill="{AUTO_INK}" font-style="italic"' if automatic else f' fill="{INK}"'
            lines.append(f'<text class="transition-title" x="{_n(x)}" y="{_n(top + LINE * i + 11.5)}" '
                         f'text-anchor="{anchor}" font-size="{LABEL_SIZE}"{style} stroke="#fff" stroke-width="3" '
                         f'stroke-linejoin="round" paint-order="stroke">{escape(title)}</text>')
        labels_svg.append(f'<g class="transition-label" data-from={quoteattr(edge.source)} '
                          f'data-to={quoteattr(edge.target)}>{"".join(lines)}</g>')

    for name in [n for row in layout.rows for n in row]:
        box = layout.boxes[name]
        classes = ["state"] + [kind for kind, _, _ in box.badges] + (["final"] if box.final else []) + (
            ["start"] if name == layout.start else [])
        parts = [f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}" height="{_n(box.height)}" rx="8" '
                 f'fill="#fff" stroke="{INK}" stroke-width="{2 if name == layout.start else 1.5}"/>']
        if box.final:
            parts.append(f'<rect x="{_n(box.x + 4)}" y="{_n(box.y + 4)}" width="{_n(box.width - 8)}" '
                         f'height="{_n(box.height - 8)}" rx="5" fill="none" stroke="{INK}" stroke-width="1.2"/>')
        title_y = box.y + (22 if box.badges else box.height / 2 + 5)
        parts.append(f'<text class="state-title" x="{_n(box.cx)}" y="{_n(title_y)}" text-anchor="middle" '
                     f'font-size="{TITLE_SIZE}" font-weight="600" fill="{INK}">{escape(box.title)}</text>')
        if box.badges:
            total = sum(_badge_width(b) for b in box.badges) + 4 * (len(box.badges) - 1)
            bx = box.cx - total / 2
            for badge in box.badges:
                kind, label, clock = badge
                fill, ink = BADGES[kind]
                width = _badge_width(badge)
                parts.append(f'<g class="badge {kind}" color="{ink}">'
                             f'<rect x="{_n(bx)}" y="{_n(box.y + 30)}" width="{_n(width)}" height="16" rx="8" '
                             f'fill="{fill}"/>')
                tx = bx + 5
                if clock:
                    parts.append(_clock(bx + 10, box.y + 38))
                    tx += 12
                parts.append(f'<text x="{_n(tx)}" y="{_n(box.y + 42)}" font-size="{BADGE_SIZE}" fill="{ink}">'
                             f'{escape(label)}</text></g>')
                bx += width + 4
        body.append(f'<g class="{" ".join(classes)}" data-state={quoteattr(name)}>{"".join(parts)}</g>')

    if layout.start in layout.boxes:
        box = layout.boxes[layout.start]
        x = layout.port_x[(layout.start, "top", None)]
        body.append(f'<g class="start-marker"><circle cx="{_n(x)}" cy="{_n(box.y - 30)}" r="5" fill="{INK}"/>'
                    f'<path d="M{_n(x)} {_n(box.y - 25)}V{_n(box.y)}" stroke="{INK}" stroke-width="1.5" '
                    f'marker-end="url(#{arrow_id})"/></g>')
    body.extend(labels_svg)

    # the drawing's extent: boxes, arrows, labels and the start marker
    xs, ys = [], []
    for box in layout.boxes.values():
        xs += [box.x, box.right]
        ys += [box.y - 36, box.bottom]
    for edge in layout.edges:
        xs += [x for x, _ in edge.points]
        ys += [y for _, y in edge.points]
    for rect in layout.label_boxes:
        xs += [rect[0], rect[2]]
        ys += [rect[1], rect[3]]
    min_x, min_y = min(xs) - MARGIN, min(ys) - MARGIN
    width, height = max(xs) + MARGIN - min_x, max(ys) + MARGIN - min_y

    title = f"{labels.diagram}: {text_of(flow.get('title'), language)}"
    names = {name: box.title for name, box in layout.boxes.items()}
    summary = labels.summary.format(states=len(layout.boxes), transitions=len(flow.get("transitions") or []),
                                    start=names.get(layout.start, layout.start))
    finals = [layout.boxes[n].title for row in layout.rows for n in row if layout.boxes[n].final]
    description = summary + " " + "; ".join(
        labels.arrow.format(source=names[e.source], target=names[e.target], titles=", ".join(t for t, _ in e.titles))
        for e in layout.edges) + "."
    if finals:
        description += " " + labels.finals.format(names=", ".join(finals))

    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="linli-flow-diagram" role="img" '
            f'aria-labelledby="{title_id} {desc_id}" width="{_n(width)}" height="{_n(height)}" '
            f'viewBox="{_n(min_x)} {_n(min_y)} {_n(width)} {_n(height)}" '
            f'font-family="system-ui, -apple-system, &quot;PingFang SC&quot;, &quot;Microsoft YaHei&quot;, sans-serif">'
            f'<title id="{title_id}">{escape(title)}</title>'
            f'<desc id="{desc_id}">{escape(description)}</desc>'
            f'<defs>'
            f'<marker id="{arrow_id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="{LINE_INK}"/></marker>'
            f'<marker id="{auto_arrow_id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="{AUTO_INK}"/></marker>'
            f'</defs>'
            f'<rect x="{_n(min_x)}" y="{_n(min_y)}" width="{_n(width)}" height="{_n(height)}" fill="#fff"/>')
    return head + "".join(body) + "</svg>"
