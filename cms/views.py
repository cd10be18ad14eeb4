"""Wagtail's submissions listing: narrowed by the policy, and exports a spreadsheet cannot turn into formulas."""

from wagtail.contrib.forms.views import DeleteSubmissionsView, SubmissionsListView

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A cell that starts like a formula (=HYPERLINK(…), +1, @SUM…) is shown as text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class LinliSubmissionsListView(SubmissionsListView):
    """Wagtail's own listing and export, narrowed by Linli's one permission policy: editing a
    form page lets you reach the listing, but you see only the submissions your roles allow."""

    def get_base_queryset(self):
        from engine import policy

        return policy.visible_submissions(self.request.user, super().get_base_queryset())

    def write_csv_row(self, writer, row_dict):
        return super().write_csv_row(writer, {k: neutralise(v) for k, v in row_dict.items()})


class LinliDeleteSubmissionsView(DeleteSubmissionsView):
    """Wagtail's "delete selected submissions", narrowed by the same policy as the listing: a
    selection that reaches beyond what the caller may see is refused whole, like a missing one."""

    def get_queryset(self):
        from django.http import Http404

        from engine import policy
        from engine.refusals import log_refusal

        wanted = self.request.GET.getlist("selected-submissions")
        if not all(value.isdigit() for value in wanted):
            raise Http404
        selected = policy.visible_submissions(self.request.user, self.page.get_submissions()).filter(id__in=wanted)
        if selected.count() != len(set(wanted)):
            log_refusal(self.request, "submission deletion", ",".join(wanted)[:100])
            raise Http404
        return selected
