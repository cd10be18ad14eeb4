"""Wagtail's submissions listing, with exports that a spreadsheet cannot turn into formulas."""

from wagtail.contrib.forms.views import SubmissionsListView

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A cell that starts like a formula (=HYPERLINK(…), +1, @SUM…) is shown as text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class LinliSubmissionsListView(SubmissionsListView):
    def write_csv_row(self, writer, row_dict):
        return super().write_csv_row(writer, {k: neutralise(v) for k, v in row_dict.items()})
