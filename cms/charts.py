"""Charts drawn on the server as inline SVG: no JavaScript, nothing fetched, readable on a phone.

A chart is a figure with a visible caption, an SVG that assistive technology reads as one image
(its <title> and <desc>), and a visually hidden table with the same numbers for screen readers
and for anyone who copies the figures. Bars run across the page, one group per row, so that a
narrow phone gives the labels room and a longer series only makes the chart taller.

Every label and series name is escaped here (format_html); nothing a community or a resident
wrote is marked safe. The colours keep WCAG AA contrast against white: text #1f2937, bars
#1d4ed8 and #047857 (more than 4.5:1, where graphics need 3:1). Each bar's number is written
beside it, so no figure is told by colour alone.
"""

from __future__ import annotations

import itertools
import unicodedata

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _

TEXT = "#1f2937"  # 14.7:1 on white
AXIS = "#6b7280"  # 4.8:1
COLOURS = ("#1d4ed8", "#047857", "#7c2d12", "#6d28d9")  # 6.7, 5.5, 9.6 and 7.1:1 on white

WIDTH = 360  # user units: one unit is one CSS pixel on a 360 px phone, scaled up to max-width on wider screens
BAR = 13
BAR_GAP = 2
GROUP_GAP = 12
LEGEND = 30
LABEL_ROOM = 140  # longer labels are cut short here with "…" (the table and the bar's tooltip hold them whole)
VALUE_ROOM = 44  # right of the longest bar, for its number

_ids = itertools.count(1)


def bar_chart(rows, title, series=(_("received"), _("resolved")), heading=_("Month")) -> SafeString:
    """A grouped bar chart of `rows`: (label, value for series 1, value for series 2, ...).

    `title` is shown as the caption and names the image; `heading` heads the label column of
    the fallback table. With no rows, or only zeros, a short "no data yet" message stands in."""
    rows = [(label, *(_number(v) for v in values)) for label, *values in rows]
    if not any(value > 0 for row in rows for value in row[1:]):
        return format_html('<figure class="chart chart-empty" style="margin: 1rem 0">{}<p class="muted">{}</p></figure>',
                           _caption(title), _gettext("No data yet."))
    chart_id = f"linli-chart-{next(_ids)}"  # unique within a process, so within any page it renders
    return format_html('<figure class="chart" id="{}" style="margin: 1rem 0">{}{}{}</figure>', chart_id,
                       _caption(title), _svg(chart_id, rows, title, series), _table(rows, title, series, heading))


def _caption(title):
    return format_html('<figcaption style="font-weight: 600">{}</figcaption>', title)


def _number(value):
    value = value or 0
    return int(value) if float(value).is_integer() else round(float(value), 1)


def _u(value) -> str:
    """A coordinate in user units, to a tenth."""
    return f"{value:.1f}".removesuffix(".0")


def _join(parts) -> SafeString:
    return mark_safe("".join(conditional_escape(part) for part in parts))


def _text_width(text, size):
    """A rough width of `text` in user units: CJK characters are square, Latin ones about half."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.6 for ch in str(text))


def _shortened(label, size):
    label = str(label)
    if _text_width(label, size) <= LABEL_ROOM:
        return label
    while label and _text_width(label + "…", size) > LABEL_ROOM:
        label = label[:-1]
    return label + "…"


def _svg(chart_id, rows, title, series):
    size = 13
    count = len(series)
    label_width = min(max(_text_width(row[0], size) for row in rows), LABEL_ROOM)
    x0 = round(label_width + 10, 1)
    plot = WIDTH - x0 - VALUE_ROOM
    peak = max(value for row in rows for value in row[1:])
    group = count * BAR + (count - 1) * BAR_GAP + GROUP_GAP
    height = LEGEND + len(rows) * group
    parts = []
    # legend: a swatch and the series name, side by side
    x = 0
    for index, name in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        parts.append(format_html('<rect x="{}" y="4" width="12" height="12" fill="{}"/>'
                                 '<text x="{}" y="10" dominant-baseline="middle" font-size="{}" fill="{}">{}</text>',
                                 _u(x), colour, _u(x + 16), size, TEXT, name))
        x += 16 + _text_width(name, size) + 20
    for number, (label, *values) in enumerate(rows):
        top = LEGEND + number * group
        middle = top + (group - GROUP_GAP) / 2
        parts.append(format_html('<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle" '
                                 'font-size="{}" fill="{}">{}</text>', _u(x0 - 6), _u(middle), size, TEXT,
                                 _shortened(label, size)))
        for index, (name, value) in enumerate(zip(series, values)):
            y = top + index * (BAR + BAR_GAP)
            length = plot * max(value, 0) / peak
            parts.append(format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{} · {}: {}</title></rect>'
                '<text x="{}" y="{}" dominant-baseline="middle" font-size="12" fill="{}">{}</text>',
                _u(x0), _u(y), _u(length), BAR, COLOURS[index % len(COLOURS)], label, name, value,
                _u(x0 + length + 4), _u(y + BAR / 2), TEXT, value))
    parts.append(format_html('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/>',
                             _u(x0), LEGEND - 4, _u(x0), _u(height - GROUP_GAP / 2), AXIS))
    description = _gettext("Bars for %(series)s, one group for each of %(count)s rows. The table that follows gives "
                           "the same numbers.") % {"series": ", ".join(str(name) for name in series), "count": len(rows)}
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" '
        'style="max-width: 34rem; height: auto; display: block" role="img" '
        'aria-labelledby="{id}-title {id}-desc" font-family="inherit">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>',
        w=WIDTH, h=height, id=chart_id, title=title, desc=description, body=_join(parts))


def _table(rows, title, series, heading):
    head = _join(format_html('<th scope="col">{}</th>', name) for name in series)
    body = _join(format_html('<tr><th scope="row">{}</th>{}</tr>', label,
                             _join(format_html("<td>{}</td>", value) for value in values))
                 for label, *values in rows)
    # The wrapper is what hides it: a table ignores the 1px width and would widen a phone's page.
    return format_html('<div class="visually-hidden"><table class="visually-hidden"><caption>{}</caption><thead><tr>'
                       '<th scope="col">{}</th>{}</tr></thead><tbody>{}</tbody></table></div>', title, heading, head, body)
