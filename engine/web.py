"""Pages for people at work on items: the reviewer's inbox, an item with its history and the
steps open to the person, and a resident's own submissions. Thin: the policy decides what is
shown, the workflow adapter takes the step — exactly as the API does."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from engine import clock, item_page, policy
from engine.forms.display import without_private
from engine.forms.registry import form_spec
from engine.forms.spec import text
from engine.models import FlowInstance, Notification, Submission
from engine.refusals import log_refusal
from engine.services.vacancies import StandInWords
from engine.workflow import adapter
from engine.workflow.words import ballot_refusal, guard_refusal


def _reasons(words, community, options) -> str:
    """"第一网格暂无网格长": each distinct vacancy through which the person has a step here."""
    found = dict.fromkeys(words.reason(community, o.stand_in) for o in options if o.stand_in is not None)
    return gettext("; ").join(found)


def _state_title(instance, language):
    state = adapter.compiled(instance).states.get(instance.state)
    return text(state.title, language) if state else instance.state


@login_required
def inbox(request):
    """The person's to-dos: the items of adapter.inbox on which adapter.todo finds something for
    them — a step, or a ballot they have not cast."""
    language = translation.get_language() or "zh-hans"
    cache = adapter.FactsCache(request.user)
    items = adapter.inbox(request.user, cache=cache)
    now, rows, words = timezone.now(), [], StandInWords(language)
    for instance in items[:100]:
        todo = adapter.todo(request.user, instance, cache=cache)
        if todo:
            steps = [text(o.transition.title, language) for o in todo.steps]
            if todo.vote:
                steps.append(gettext("Vote"))
            rows.append({"instance": instance, "state": _state_title(instance, language),
                         "overdue": clock.is_overdue(instance, now), "vote": todo.vote,
                         "steps": steps, "options": todo.steps})
        if len(rows) >= 50:
            break
    words.load([(row["instance"].community, o.stand_in) for row in rows for o in row["options"]])
    for row in rows:  # why an item came to someone standing in for a vacant role
        row["reason"] = _reasons(words, row["instance"].community, row.pop("options"))
    notes = Notification.objects.filter(user=request.user, read_at__isnull=True).select_related("community")
    stalled = [{"instance": i, "state": _state_title(i, language)} for i in adapter.stalled_items(request.user)[:50]]
    return render(request, "linli/inbox.html", {"rows": rows, "notifications": list(notes.order_by("-created_at")[:20]),
                                                "stalled": stalled})


def _back(request, fallback):
    """Where a form posted from a page returns: its own path when it says one, else `fallback`."""
    from django.utils.http import url_has_allowed_host_and_scheme

    candidate = request.POST.get("next", "")
    if candidate.startswith("/") and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return redirect(candidate)
    return redirect(fallback)


@login_required
@require_http_methods(["POST"])
def notifications_read(request):
    """Mark the caller's own notifications read (never anybody else's). Marking what another
    request has just marked changes nothing: only unread ones are updated."""
    Notification.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now())
    return _back(request, "linli_messages")


@login_required
@require_http_methods(["POST"])
def notification_read(request, pk):
    """Mark one of the caller's notifications read; another person's is not found."""
    updated = Notification.objects.filter(pk=pk, user=request.user, read_at__isnull=True).update(read_at=timezone.now())
    if not updated and not Notification.objects.filter(pk=pk, user=request.user).exists():
        raise Http404
    return _back(request, "linli_messages")


@login_required
def messages_page(request):
    """The person's notification centre: unread first, then read, each linking to its item."""
    from django.core.paginator import Paginator
    from django.db.models import F

    notes = (Notification.objects.filter(user=request.user).select_related("community", "instance")
             .order_by(F("read_at").asc(nulls_first=True), "-created_at", "-pk"))
    page = Paginator(notes, 50).get_page(request.GET.get("page"))
    return render(request, "linli/messages.html", {
        "page_obj": page, "notes": page.object_list,
        "unread": Notification.objects.filter(user=request.user, read_at__isnull=True).count()})


@login_required
def my_items(request):
    language = translation.get_language() or "zh-hans"
    rows = []
    for submission in (Submission.objects.filter(submitter=request.user).select_related("form", "flow", "community")
                       .order_by("-submit_time")[:100]):
        instance = getattr(submission, "flow", None) if hasattr(submission, "flow") else None
        rows.append({"submission": submission, "title": text(form_spec(submission.form_version).title, language),
                     "state": _state_title(instance, language) if instance else "",
                     "overdue": clock.is_overdue(instance)})
    return render(request, "linli/my_items.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def item(request, pk):
    language = translation.get_language() or "zh-hans"
    queryset = Submission.objects.select_related("form_version", "community", "form", "submitter")
    submission = policy.visible_submission(request.user, pk, queryset)
    if submission is None:
        # the electorate of an open vote sees the item it votes on, and nothing else
        candidate = FlowInstance.objects.filter(submission_id=pk, finished_at__isnull=True).first()
        if candidate is None or _vote_offer(request.user, candidate, language) is None:
            log_refusal(request, "item page", pk)
            raise Http404
        submission = queryset.get(pk=pk)
    try:
        instance = submission.flow
    except FlowInstance.DoesNotExist:
        instance = None
    if request.method == "POST":
        if instance is None:
            raise Http404
        if "ballot" in request.POST:
            return _vote(request, submission, instance, language)
        return _act(request, submission, instance, language)
    spec = form_spec(submission.form_version)
    # fields a form marks private (names, rooms, phones) only for those the policy admits
    data = submission.data if policy.may_see_private(request.user, submission) else \
        without_private(spec.fields, submission.data)
    fields = item_page.submitted_fields(submission, spec, data, language)
    groups, steps, history, reasons, status = [], [], [], "", None
    if instance is not None:
        options = adapter.open_transitions(request.user, instance)
        reasons = _reasons(StandInWords(language), submission.community, options)
        groups, steps = item_page.open_steps(instance, options, language)
        history = item_page.history(instance, submission, language)
        history = sorted(history + _entered_ballots(request.user, submission, instance), key=lambda e: e["time"])
        status = item_page.status(instance, language)
    kept = _step_errors(request, submission, steps)
    for group in groups:
        post = kept.get("post") if kept and any(s["name"] == kept.get("transition") for s in group["steps"]) else None
        group["form"] = item_page.transition_form(submission.community, group["form_key"], language,
                                                  MultiValueDict(post) if post else None)
        if post:
            group["form"].is_valid()  # the errors of what was entered, next to each field
        group["form_title"] = text(group["form"].spec.title, language) if group["form"] else ""
        group["show_comment"] = any(s["comment"] == "required" for s in group["steps"])
        group["comment_value"] = kept.get("comment", "") if post else ""
        group["comment_errors"] = kept.get("errors", {}).get("comment", []) if post else []
    vote = _vote_offer(request.user, instance, language) if instance is not None else None
    return render(request, "linli/item.html", {
        "vote": vote, "subject": item_page.subject(spec, data, language),
        "submission": submission, "instance": instance, "fields": fields, "groups": groups, "steps": steps,
        "history": history, "stand_in_reason": reasons, "status": status,
        "overdue": clock.is_overdue(instance, timezone.now())})


def _coerce(value, kind):
    if value in (None, ""):
        return None
    if kind in ("number", "integer"):
        try:
            return int(value) if str(value).lstrip("-").isdigit() else float(value)
        except ValueError:
            return value
    if kind == "boolean":
        return value in ("true", "on", "1", "True")
    if kind in ("person",):
        return int(value) if str(value).isdigit() else value
    return value


_STEP_ERRORS = "linli_step_errors"
_INPUT = "/data/"


def _keep_errors(request, submission, name, by_input, values):
    request.session[_STEP_ERRORS] = {
        "item": submission.pk, "transition": name, "errors": by_input, "values": values,
        "post": {key: [str(v)[:2000] for v in request.POST.getlist(key)] for key in request.POST
                 if key.startswith(f"{item_page.INPUT_PREFIX}-")},
        "comment": str(request.POST.get("comment", ""))[:2000]}


def _act(request, submission, instance, language):
    """Take the step posted from the item page through the adapter, as the API does. A step
    collecting a form reads it with that form's own fields; when what was entered is refused,
    the errors (in the reader's language) and the values entered are kept for the next view of
    the page, which shows each error next to its input."""
    name = request.POST.get("transition", "")
    flow = adapter.compiled(instance)
    transition = flow.transitions.get(name)
    inputs, kinds = {}, {}
    if transition is not None and transition.form:
        form = item_page.transition_form(instance.community, transition.form, language, request.POST)
        if form is not None and not form.is_valid():
            messages.error(request, gettext("Please correct what you entered"))
            _keep_errors(request, submission, name, {k: list(v) for k, v in form.errors.items()}, {})
            return redirect("linli_item", pk=submission.pk)
        inputs = dict(form.instance) if form is not None else {}
    elif transition is not None:
        kinds = {key: spec.get("type", "text") for key, spec in transition.inputs.items()}
        for key, kind in kinds.items():
            value = _coerce(request.POST.get(f"{item_page.INPUT_PREFIX}-{key}"), kind)
            if value is not None:
                inputs[key] = value
    try:
        adapter.take(instance_id=instance.pk, name=name, user=request.user, comment=request.POST.get("comment", ""),
                     inputs=inputs, expected_version=int(request.POST.get("version") or instance.version))
    except adapter.TransitionError as error:
        words = {"moved": gettext("Someone else has handled this item; see where it stands now"),
                 "wrong_state": gettext("The item is no longer at this step"),
                 "not_actor": gettext("You cannot take this step"),
                 "guard": guard_refusal(flow, name, language),  # the flow's own words
                 "input": gettext("Please correct what you entered"),
                 "comment": gettext("Please write a comment")}
        detail = gettext("; ").join(e.text(language) for e in error.errors) if error.errors else ""
        said = words.get(error.reason) or (str(error) if isinstance(error, adapter.TransitionRefused)
                                            else gettext("The step was not taken"))
        if error.errors:
            messages.error(request, said)  # the details stand next to their fields
            by_input = {}
            for field_error in error.errors:
                pointer = field_error.pointer
                key = pointer[len(_INPUT):].split("/")[0] if pointer.startswith(_INPUT) else pointer.lstrip("/")
                by_input.setdefault(key, []).append(field_error.text(language))
            _keep_errors(request, submission, name, by_input,
                         {key: str(request.POST.get(f"{item_page.INPUT_PREFIX}-{key}", ""))[:2000] for key in kinds})
        else:
            messages.error(request, gettext("%(problem)s: %(detail)s") % {"problem": said, "detail": detail}
                           if detail else said)
            if error.reason in ("guard", "comment"):  # keep what was entered to correct it
                _keep_errors(request, submission, name, {}, {
                    key: str(request.POST.get(f"{item_page.INPUT_PREFIX}-{key}", ""))[:2000] for key in kinds})
    else:
        moved_to = flow.states.get(transition.target) if transition else None
        messages.success(request, gettext("“%(step)s” is done; the item is now “%(state)s”") % {
            "step": text(transition.title, language), "state": text(moved_to.title, language) if moved_to else ""})
    return redirect("linli_item", pk=submission.pk)


def _step_errors(request, submission, steps):
    """The errors of the step refused on the last post (see _act), each put on its input with the
    value entered; read once. Returns what was kept (for the steps drawn as one form)."""
    kept = request.session.pop(_STEP_ERRORS, None)
    if not kept or kept.get("item") != submission.pk:
        return {}
    for step in steps:
        if step["name"] != kept.get("transition"):
            continue
        step["comment_value"] = kept.get("comment", "")
        step["comment_errors"] = kept["errors"].get("comment", [])
        for field in step["inputs"]:
            field["errors"] = kept["errors"].get(field["name"], [])
            field["value"] = kept["values"].get(field["name"], "")
    return kept


def _vote_offer(user, instance, language):
    """The ballot a person may still cast on this item now, or None."""
    from engine.models import Ballot, Person

    state = adapter.compiled(instance).states.get(instance.state)
    if state is None or state.vote is None or instance.finished_at:
        return None
    person = Person.objects.filter(community=instance.community, user=user).first()
    if person is None or person not in adapter.electorate(instance, instance.state):
        return None
    if Ballot.objects.filter(instance=instance, state=instance.state, voter=person).exists():
        return {"voted": True}
    data = adapter.compiled(instance).states[instance.state]
    titles = {}
    definition = instance.flow_version.data["states"][instance.state]["vote"]
    for option in definition.get("options", []):
        titles[option["key"]] = text(option["title"], language)
    return {"voted": False, "options": [(key, titles.get(key, key)) for key in data.vote.options]}


def _vote(request, submission, instance, language):
    """The person's own ballot, and only theirs: the page takes no voter, so nobody votes for
    another here (staff enter paper ballots and proxies through the API, as policy.may_enter_ballots
    allows). Whether they are in the electorate the adapter asks, with the roles in force today."""
    from engine.models import Person

    person = Person.objects.filter(community=instance.community, user=request.user).first()
    try:
        if person is None:
            raise adapter.TransitionNotAllowed("not in the electorate", reason="not_actor", state=instance.state)
        adapter.cast_ballot(instance, voter=person, option=request.POST.get("ballot", ""), entered_by=request.user)
    except adapter.TransitionError as error:
        said = gettext("You have already voted") if error.reason == "voted" else ballot_refusal(error.reason)
        messages.error(request, said)
    else:
        messages.success(request, gettext("Your vote is counted"))
    return redirect("linli_item", pk=submission.pk)


def _entered_ballots(user, submission, instance):
    """History entries for the ballots someone entered for another voter: what kind, and — for
    the staff of the vote (policy.may_enter_ballots) — for whom and by whom."""
    private = policy.may_enter_ballots(user, instance)
    entries = []
    for ballot in adapter.entered_ballots(instance):
        title = gettext("Proxy ballot entered") if ballot.proxy_id else (
            gettext("Paper ballot entered") if ballot.paper else gettext("Ballot entered for a voter"))
        comment = ""
        if private:
            who = ballot.entered_by.get_full_name() or ballot.entered_by.username if ballot.entered_by else ""
            comment = gettext("Voter: %(voter)s; entered by: %(who)s") % {"voter": ballot.voter.name, "who": who}
            if ballot.proxy_id:
                comment += gettext("; proxy: %(proxy)s") % {"proxy": ballot.proxy.name}
        entries.append({"time": ballot.created_at, "title": title, "to": "", "comment": comment})
    return entries
