"""REST API views (contract paths in DESIGN.md). Thin: each calls the policy and one service."""

import hashlib

from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import translation
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from engine import clock, policy, security
from engine.api.parsing import SafeJSONParser
from engine.forms.display import without_private
from engine.forms.registry import form_spec
from engine.forms.spec import text
from engine.forms.validation import as_messages
from engine.models import Definition, Submission
from engine.services import submissions as submission_service
from engine.services.uploads import UploadRefused, store_upload
from engine.services.vacancies import StandInWords
from engine.workflow.words import ballot_refusal, guard_refusal


Errors = inline_serializer("SubmissionErrors", {"errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField()))})


def _too_many(rule, decision):
    """429 in the API's error shape, with Retry-After."""
    return Response({"errors": {"": [security.refusal_message(rule, decision, translation.get_language())]}},
                    status=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(decision.retry_after)})


def _live_forms(with_flow=False):
    # the versions' content and source are read only when a process compiles a version it has not
    # seen (form_spec, adapter.compiled); a submission starts the form's flow, so it may ask for
    # the flow too (two more joins: every upload would pay for them in planning and compiling)
    versions = ("live_version", "flow__live_version") if with_flow else ("live_version",)
    return (Definition.objects.filter(kind=Definition.Kind.FORM, live_version__isnull=False)
            .select_related("community", *versions)
            .defer(*[f"{version}__{field}" for version in versions for field in ("content", "source")])
            .order_by("community__slug", "key"))


def _form_or_404(community, key, with_flow=False):
    return get_object_or_404(_live_forms(with_flow), community__slug=community, key=key)


def _summary(form, user, language):
    spec = form_spec(form.live_version)
    return {
        "community": form.community.slug,
        "form": form.key,
        "title": text(spec.title, language),
        "version": form.live_version.number,
        "anonymous": spec.anonymous,
        "can_submit": policy.can_submit(user, spec, form.community),
    }


FormSummary = inline_serializer("FormSummary", many=True, fields={
    "community": serializers.CharField(), "form": serializers.CharField(), "title": serializers.CharField(),
    "version": serializers.IntegerField(), "anonymous": serializers.BooleanField(), "can_submit": serializers.BooleanField(),
})  # noqa: E501
SubmissionCreated = inline_serializer("SubmissionCreated", {
    "id": serializers.IntegerField(), "reference": serializers.CharField(), "state": serializers.CharField(),
    "form_version": serializers.IntegerField(),
})


class FormList(APIView):
    """Published forms visible to the caller (anonymous callers see forms open to anyone)."""

    permission_classes = [AllowAny]

    @extend_schema(responses=FormSummary)
    def get(self, request):
        language = translation.get_language()
        forms = [_summary(f, request.user, language) for f in policy.visible_forms(request.user, _live_forms())]
        if not request.user.is_authenticated:
            forms = [f for f in forms if f["anonymous"]]
        return Response(forms)


class FormDetail(APIView):
    """One form: its JSON Schema (with the x-ui extension), the shared definitions it uses, its version."""

    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, community, form):
        record = _form_or_404(community, form)
        spec = form_spec(record.live_version)
        if not request.user.is_authenticated and not spec.anonymous:
            raise Http404
        return Response({**_summary(record, request.user, translation.get_language()),
                         "schema": spec.schema, "ui": spec.ui, "shared": spec.shared})


def _visible_item(request, pk):
    """(submission, flow instance) the caller may see — 404 otherwise, exactly like a missing one."""
    from engine.models import FlowInstance

    submission = policy.visible_submission(request.user, pk)
    if submission is None:
        raise _not_found(request, "item", pk)
    try:
        return submission, submission.flow
    except FlowInstance.DoesNotExist:
        raise Http404 from None


def _state(submission):
    from engine.models import FlowInstance

    try:
        return submission.flow.state
    except FlowInstance.DoesNotExist:
        return "submitted"


class SubmissionCreate(APIView):
    """Submit an instance of the form. Send `Idempotency-Key` to make retries safe."""

    permission_classes = [AllowAny]
    parser_classes = [SafeJSONParser]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: SubmissionCreated, 400: Errors, 429: Errors},
                   parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)])
    def post(self, request, community, form):
        record = _form_or_404(community, form, with_flow=True)
        key, refused = _idempotency_key(request)
        if refused is not None:
            return refused
        with security.SubmissionSlot(request) as slot:  # visitors not signed in: so many per address
            if slot.refused:
                return _too_many("anonymous_submission", slot.decision)
            try:
                result = submission_service.submit(
                    form=record, data=request.data, user=request.user, idempotency_key=key,
                    session_key=request.session.session_key or "", language=translation.get_language())
            except submission_service.SubmissionNotAllowed:
                raise PermissionDenied() from None
            except submission_service.SubmissionInvalid as invalid:
                return Response({"errors": as_messages(invalid.errors, translation.get_language())},
                                status=status.HTTP_400_BAD_REQUEST)
            except submission_service.IdempotencyKeyReused:
                return _key_reused()
            except submission_service.IdempotencyConflict:
                return Response({"errors": {"Idempotency-Key": [translation.gettext(
                    "This Idempotency-Key has already been used")]}}, status=status.HTTP_409_CONFLICT)
            slot.stored(result.created)
        submission = result.submission
        response = Response({"id": submission.pk, "reference": submission.reference, "state": _state(submission),
                             "form_version": submission.form_version.number}, status=status.HTTP_201_CREATED)
        if not result.created:
            response["Idempotent-Replayed"] = "true"
        return response


MAX_IDEMPOTENCY_KEY = 255


def _idempotency_key(request):
    """(the Idempotency-Key header, None), or ("", a 400 answer) when it is too long to be a key.
    Whose key it is the service records (keys are per person); the header is never cut short."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > MAX_IDEMPOTENCY_KEY:
        return "", Response({"errors": {"Idempotency-Key": [translation.gettext(
            "An Idempotency-Key has at most %(count)d characters") % {"count": MAX_IDEMPOTENCY_KEY}]}}, status=400)
    return key, None


def _key_reused():
    """422: the caller's own key came back with a different request (Stripe's answer)."""
    return Response({"errors": {"Idempotency-Key": [translation.gettext(
        "This Idempotency-Key was already used for a different request; send a new key with a new request")]}},
        status=status.HTTP_422_UNPROCESSABLE_ENTITY)


class FileUpload(APIView):
    """Upload a file for a form's file or photo field; put the returned token in the submission."""

    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": inline_serializer("Upload", {"file": serializers.FileField(),
                                                                               "field": serializers.CharField()})},
                   responses={201: inline_serializer("Uploaded", {"token": serializers.CharField()}), 400: Errors})
    def post(self, request, community, form):
        record = _form_or_404(community, form)
        spec = form_spec(record.live_version)
        if not policy.can_submit(request.user, spec, record.community):
            raise PermissionDenied()
        if not request.session.session_key and not request.user.is_authenticated:
            request.session.save()
        field = request.data.get("field", "")
        try:
            stored = store_upload(spec=spec, form=record, field_pointer=field, upload=request.FILES.get("file"),
                                  user=request.user, session_key=request.session.session_key or "")
        except UploadRefused as refused:
            return Response({"errors": {field or "/": [refused.text(translation.get_language())]}},
                            status=refused.status)
        return Response({"token": stored.token}, status=status.HTTP_201_CREATED)


class SubmissionDetail(APIView):
    """A submission the caller may see: data, state, history and the transitions open to them."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        submission = policy.visible_submission(
            request.user, pk, Submission.objects.select_related("form_version", "form"))
        if submission is None:
            raise _not_found(request, "submission", pk)
        from engine.models import FlowInstance
        from engine.workflow import adapter

        history, transitions, version, due = [], [], None, None
        try:
            instance = submission.flow
        except FlowInstance.DoesNotExist:
            instance = None
        if instance is not None:
            language = translation.get_language()
            submitted = {"time": submission.submit_time, "transition": "submit", "from": "",
                         "to": adapter.compiled(instance).start,
                         "by": "me" if submission.submitter_id == request.user.pk else "resident", "comment": ""}
            history = [submitted] + [
                {"time": e.created_at, "transition": e.transition, "from": e.from_state, "to": e.to_state,
                 "by": e.actor_kind if e.actor_id is None else ("me" if e.actor_id == request.user.pk else "staff"),
                 "comment": e.comment} for e in instance.events.all()]
            private = policy.may_enter_ballots(request.user, instance)  # who entered whose ballot: staff
            history += [{"time": b.created_at, "transition": "ballot_entered", "from": b.state, "to": b.state,
                         "by": "me" if b.entered_by_id == request.user.pk else "staff", "comment": "",
                         "paper": b.paper, "proxy": b.proxy_id is not None,
                         **({"voter": b.voter.name, "entered_by": _user_name(b.entered_by)} if private else {})}
                        for b in adapter.entered_ballots(instance)]
            history.sort(key=lambda entry: entry["time"])
            transitions = [{"name": o.transition.name, "title": text(o.transition.title, language),
                            "form": o.transition.form or None, "inputs": o.transition.inputs or None,
                            "comment": o.transition.comment} for o in adapter.open_transitions(request.user, instance)]
            version, due = instance.version, instance.due_at
        return Response({
            "id": submission.pk, "reference": submission.reference, "community": submission.community.slug,
            "form": submission.form.key, "form_version": submission.form_version.number,
            "submitted_at": submission.submit_time, "data": _data_for(request.user, submission), "state": _state(submission),
            "version": version, "due": due, "history": history, "transitions": transitions,
        })


def _data_for(user, submission) -> dict:
    """The submission's data as `user` may read it: fields marked private only for those
    policy.may_see_private admits."""
    if policy.may_see_private(user, submission):
        return submission.data
    return without_private(form_spec(submission.form_version).fields, submission.data)


def _user_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


class SubmissionTransition(APIView):
    """Take a transition: `{"transition", "comment", "data", "version"}` → 200 with the new state;
    403 when the caller may not take it; 409 when the item is not (or no longer) in a state it
    leaves; 400 when its input is missing or invalid or its conditions do not hold."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("TransitionRequest", {
        "transition": serializers.CharField(), "comment": serializers.CharField(required=False),
        "data": serializers.DictField(required=False), "version": serializers.IntegerField(required=False)}),
        responses=OpenApiTypes.OBJECT)
    def post(self, request, pk):
        from engine.workflow import adapter

        submission, instance = _visible_item(request, pk)
        body = request.data if isinstance(request.data, dict) else {}
        data = body.get("data") or {}
        if not isinstance(data, dict):
            return Response({"errors": {"/data": ["must be an object"]}}, status=400)
        language = translation.get_language()
        try:
            instance = adapter.take(instance_id=instance.pk, name=str(body.get("transition", "")), user=request.user,
                                    comment=str(body.get("comment", "")), inputs=data,
                                    expected_version=body.get("version"))
        except adapter.TransitionError as error:
            payload = {"reason": error.reason, "state": error.state, "detail": str(error)}
            if error.reason == "guard":  # the flow's own words for its guard, in the language asked for
                payload["detail"] = guard_refusal(adapter.compiled(instance), str(body.get("transition", "")), language)
            if error.errors:
                payload["errors"] = as_messages(error.errors, language)
            return Response(payload, status=error.status)
        return Response({"id": submission.pk, "state": instance.state, "version": instance.version})


class Tasks(APIView):
    """The caller's to-dos: open items they can see, overdue first, with the steps open to them
    and `vote` true when a ballot of theirs is awaited (adapter.todo: a submitter's withdrawing
    while others review the item is not a to-do). A step the caller has only because its role is vacant where the item needs it is listed in
    the entry's `fallback` ({transition, role, unit, to, reason}), and `reason` says why in words."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[OpenApiParameter("community", str), OpenApiParameter("flow", str),
                               OpenApiParameter("state", str), OpenApiParameter("unit", str)],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request):
        from django.utils import timezone

        from engine.models import FlowInstance
        from engine.workflow import adapter

        items = FlowInstance.objects.filter(finished_at__isnull=True)
        for key in ("community", "flow", "state"):
            value = request.query_params.get(key)
            if value:
                items = items.filter(**{"community__slug" if key == "community" else
                                        "flow__key" if key == "flow" else "state": value})
        unit = request.query_params.get("unit")
        if unit:  # a node of the tree: its items and those of the units below it
            from engine.models import OrgUnit

            node = OrgUnit.objects.filter(key=unit, community__slug=request.query_params.get("community", "")).first() \
                or OrgUnit.objects.filter(key=unit).first()
            items = items.filter(submission__unit__path__startswith=node.path) if node else items.none()
        cache = adapter.FactsCache(request.user)
        items = adapter.inbox(request.user, items, cache)
        items = list(items[:100])
        cache.preload_units([instance.submission.unit for instance in items])
        now, out, taken = timezone.now(), [], []
        for instance in items:
            todo = adapter.todo(request.user, instance, cache=cache)
            if not todo:
                continue  # a scope or a guard rules this item out, or only the submitter's withdrawing is open
            steps = todo.steps
            taken.append((instance, steps))
            out.append({"id": instance.submission_id, "reference": instance.submission.reference,
                        "community": instance.community.slug, "flow": instance.flow.key, "state": instance.state,
                        "due": instance.due_at, "overdue": clock.is_overdue(instance, now),
                        "transitions": [o.transition.name for o in steps], "vote": todo.vote})
            if len(out) >= 50:
                break
        # why an item came to someone standing in for a vacant role: "fallback" lists the steps
        # they have only so, "reason" says it in words ("第一网格暂无网格长"); empty otherwise
        words = StandInWords(translation.get_language())
        words.load([(instance.community, o.stand_in) for instance, steps in taken for o in steps])
        for entry, (instance, steps) in zip(out, taken):
            entry["fallback"] = [words.entry(instance.community, o.transition.name, o.stand_in)
                                 for o in steps if o.stand_in is not None]
            entry["reason"] = translation.gettext("; ").join(dict.fromkeys(f["reason"] for f in entry["fallback"]))
        return Response(out)


# ---------------------------------------------------------------- points


def _community_or_404(slug):
    from engine.models import Community

    return get_object_or_404(Community, slug=slug)


class Leaderboard(APIView):
    """Points earned in a period (month, quarter, half_year, year), optionally in one category.
    Names are masked unless the person agreed to be shown by name."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[OpenApiParameter("period", str, enum=["month", "quarter", "half_year", "year"]),
                               OpenApiParameter("category", str)], responses=OpenApiTypes.OBJECT)
    def get(self, request, community):
        from engine.models import Person
        from engine.services import points as points_service
        from engine.services.honours import rules_for

        record = _community_or_404(community)
        period = request.query_params.get("period", "quarter")
        if period not in ("month", "quarter", "half_year", "year"):
            return Response({"errors": {"period": ["month, quarter, half_year or year"]}}, status=400)
        rows = points_service.leaderboard(record, period=period, category=request.query_params.get("category") or None)
        people = Person.objects.in_bulk([row["person_id"] for row in rows])
        rules = rules_for(record)  # the community's privacy: mask or hide, its anonymous label
        return Response({"community": record.slug, "period": period, "entries": [
            {"rank": rank, "name": rules.name(people[row["person_id"]].name, people[row["person_id"]].show_name_publicly),
             "points": row["points"]}
            for rank, row in enumerate(rows, start=1)]})


class Balance(APIView):
    """The caller's own points in the community: balance and recent history."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, community):
        from engine.models import Person
        from engine.services import points as points_service

        record = _community_or_404(community)
        person = get_object_or_404(Person, community=record, user=request.user)
        history = points_service.history(person)[:50]
        return Response({"community": record.slug, "balance": points_service.balance(person), "history": [
            {"time": e.created_at, "points": e.amount, "category": e.category, "reason": e.reason,
             "balance_after": e.balance_after} for e in history]})


class Award(APIView):
    """An admin awards points by a rule of community.yaml (`{"person", "rule", "reason"}`: the rule's
    points, category and per-period limit), or by hand (`{"person", "category", "points", "reason"}`:
    positive awards, negative deducts, at most POINTS_CEILING either way). Send `Idempotency-Key` so
    that a retried request pays once."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("AwardRequest", {
        "person": serializers.IntegerField(), "rule": serializers.CharField(required=False),
        "category": serializers.CharField(required=False), "points": serializers.IntegerField(required=False),
        "reason": serializers.CharField()}), responses=OpenApiTypes.OBJECT)
    def post(self, request, community):
        from engine.models import Person
        from engine.services import points as points_service

        record = _community_or_404(community)
        if not policy.can_award_points(request.user, record):
            raise PermissionDenied()
        data, errors = request.data, {}
        if not isinstance(data, dict):
            return Response({"errors": {"": [gettext("The request body must be a JSON object.")]}}, status=400)
        rule = data.get("rule")
        amount, reason = data.get("points"), str(data.get("reason", "")).strip()
        if rule is not None:
            if not isinstance(rule, str) or not rule:
                errors["/rule"] = [gettext("Give the key of a points rule of community.yaml.")]
            if amount is not None:
                errors["/points"] = [gettext("A rule sets its own points: leave the points out.")]
        elif not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
            errors["/points"] = [gettext("Enter a whole number other than 0.")]
        elif abs(amount) > POINTS_CEILING:
            errors["/points"] = [gettext("At most %(max)d points at a time.") % {"max": POINTS_CEILING}]
        if not reason:
            errors["/reason"] = [gettext("Give a reason.")]
        elif len(reason) > REASON_MAX:
            errors["/reason"] = [gettext("The reason is too long (at most %(max)d characters).") % {"max": REASON_MAX}]
        person = None if _id_error(data, "person", required=True) else (
            Person.objects.filter(community=record, pk=data.get("person")).first())
        if person is None:
            errors["/person"] = [gettext("No such person in this community.")]
        if errors:
            return Response({"errors": errors}, status=400)
        key, refused = _idempotency_key(request)
        if refused is not None:
            return refused
        if key:  # per person: the admin's own keys (an entry keeps the key it was made with)
            key = _award_key(request.user, key)
        try:
            if rule is not None:
                entry = points_service.award(person=person, rule=rule, reason=reason, idempotency_key=key,
                                             user=request.user)
            else:
                change = points_service.award if amount > 0 else points_service.deduct
                entry = change(person=person, category=data.get("category"), points=abs(amount), reason=reason,
                               idempotency_key=key, user=request.user)
        except points_service.PointsError as error:
            pointer = "/rule" if rule is not None and error.code == "unknown" else (
                "/category" if rule is None and error.code == "unknown" else "/points")
            return Response({"errors": {pointer: [error.text(translation.get_language())]}}, status=400)
        except IntegrityError:  # the admin's key, already used for another person
            if not key:
                raise
            return _key_reused()
        sent = (person.pk, rule or "", reason) if rule is not None else (person.pk, "", reason)
        if key and ((entry.person_id, entry.rule, entry.reason) != sent
                    or (rule is None and (entry.amount, entry.category) != (amount, data.get("category")))):
            return _key_reused()  # the key's entry is another award than the one sent now
        return Response({"sequence": entry.sequence, "balance": entry.balance_after, "points": entry.amount,
                         "rule": entry.rule or None}, status=201)


POINTS_CEILING = 10_000  # a hand-made award or deduction; rules set their own amounts
REASON_MAX = 500


def _award_key(user, key) -> str:
    """An award's key as stored: whose it is, then the key (a digest of a key too long for the
    ledger's column), so one admin's retry never answers another admin's award."""
    stored = f"award:{user.pk}:{key}"
    if len(stored) <= 128:
        return stored
    return f"award:{user.pk}:#{hashlib.sha256(key.encode('utf-8')).hexdigest()}"


class CastBallot(APIView):
    """Vote on an item in a vote step: `{"option"}` casts the caller's own ballot. The staff of the
    vote's scope (policy.may_enter_ballots) also enter paper ballots and proxies with
    `{"option", "voter", "paper": true, "proxy"}` (person ids); each ballot keeps who entered it.
    Seeing the item is not being staff: its submitter or assignee asking to enter another's ballot
    is refused (403) and nothing is written."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("BallotRequest", {
        "option": serializers.CharField(), "voter": serializers.IntegerField(required=False),
        "paper": serializers.BooleanField(required=False), "proxy": serializers.IntegerField(required=False)}),
        responses=OpenApiTypes.OBJECT)
    def post(self, request, pk):
        from engine.models import FlowInstance, Person
        from engine.workflow import adapter

        instance = (FlowInstance.objects.select_related("community", "submission", "submission__unit")
                    .filter(submission_id=pk).first())
        if instance is None:
            raise _not_found(request, "ballot", pk)
        body = request.data if isinstance(request.data, dict) else {}
        community = instance.community
        voter_of_this_vote = _in_open_electorate(request.user, instance)
        if not voter_of_this_vote and not policy.can_view_submission(request.user, instance.submission):
            raise _not_found(request, "ballot", pk)  # someone else's item: exactly like a missing one
        if body.get("voter") is not None or body.get("paper") not in (None, False) or body.get("proxy") is not None:
            if not policy.may_enter_ballots(request.user, instance):
                return Response({"reason": "not_staff", "state": instance.state, "detail": translation.gettext(
                    "Only the staff in charge of this vote may enter paper ballots and proxies; "
                    "cast your own ballot with the option alone")}, status=status.HTTP_403_FORBIDDEN)
            errors = {**_id_error(body, "voter", required=True), **_id_error(body, "proxy")}
            if not isinstance(body.get("paper", False), bool):
                errors["/paper"] = [translation.gettext("Say true or false")]
            if errors:
                return Response({"errors": errors}, status=400)
            voter = Person.objects.filter(community=community, pk=body["voter"]).first()
            if voter is None:
                return Response({"errors": {"/voter": [translation.gettext("No such person in this community")]}},
                                status=400)
            proxy = None
            if body.get("proxy") is not None:
                proxy = Person.objects.filter(community=community, pk=body["proxy"]).first()
                if proxy is None:
                    return Response({"errors": {"/proxy": [translation.gettext("No such person in this community")]}},
                                    status=400)
            paper = bool(body.get("paper"))
        else:
            voter = Person.objects.filter(community=community, user=request.user).first()
            if voter is None or not voter_of_this_vote:
                return Response({"reason": "not_actor", "state": instance.state,
                                 "detail": ballot_refusal("not_actor")},
                                status=status.HTTP_403_FORBIDDEN)
            proxy, paper = None, False
        try:
            ballot = adapter.cast_ballot(instance, voter=voter, option=str(body.get("option", "")), paper=paper,
                                         proxy=proxy, entered_by=request.user)
        except adapter.TransitionError as error:
            return Response({"reason": error.reason, "state": error.state,
                             "detail": ballot_refusal(error.reason, str(error))}, status=error.status)
        return Response({"option": ballot.option, "paper": ballot.paper, "voter": ballot.voter_id,
                         "proxy": ballot.proxy_id}, status=201)


class Reassign(APIView):
    """Hand an item to someone else (`{"person", "comment"}`): admins, whoever may assign from
    the current state, or the assignee delegating."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("ReassignRequest", {"person": serializers.IntegerField(),
                                                                 "comment": serializers.CharField(required=False)}),
                   responses=OpenApiTypes.OBJECT)
    def post(self, request, pk):
        from engine.models import Person
        from engine.workflow import adapter

        submission, instance = _visible_item(request, pk)
        if _id_error(request.data, "person", required=True):
            return Response({"errors": _id_error(request.data, "person", required=True)}, status=400)
        person = Person.objects.filter(community=instance.community, pk=request.data.get("person")).first()
        if person is None:
            return Response({"errors": {"/person": ["本社区没有这个人"]}}, status=400)
        try:
            instance = adapter.reassign(instance=instance, person=person, user=request.user,
                                        comment=str(request.data.get("comment", "")))
        except adapter.TransitionError as error:
            return Response({"reason": error.reason, "state": error.state, "detail": str(error)}, status=error.status)
        return Response({"id": submission.pk, "state": instance.state, "version": instance.version})


class Comment(APIView):
    """Add a comment to an item's history (anyone who can see the item)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("CommentRequest", {"comment": serializers.CharField()}),
                   responses=OpenApiTypes.OBJECT)
    def post(self, request, pk):
        from engine.workflow import adapter

        submission, instance = _visible_item(request, pk)
        try:
            event = adapter.add_comment(instance=instance, user=request.user, text=str(request.data.get("comment", "")))
        except adapter.TransitionError as error:
            return Response({"errors": as_messages(error.errors, translation.get_language())}, status=400)
        return Response({"time": event.created_at, "comment": event.comment}, status=201)


# ---------------------------------------------------------------- shared checks


def _id_error(body, key, required=False) -> dict:
    """{pointer: [message]} when `key` is not a whole-number id (a string or a bool is not one)."""
    value = body.get(key) if isinstance(body, dict) else None
    if value is None and not required:
        return {}
    if isinstance(value, bool) or not isinstance(value, int):
        return {f"/{key}": [gettext("Give the person's id (a whole number)")]}
    return {}


def _in_open_electorate(user, instance) -> bool:
    from engine.models import Person
    from engine.workflow import adapter

    state = adapter.compiled(instance).states.get(instance.state)
    if state is None or state.vote is None or instance.finished_at:
        return False
    person = Person.objects.filter(community=instance.community, user=user).first()
    return person is not None and person in adapter.electorate(instance, instance.state)


def _not_found(request, kind, pk):
    from django.http import Http404

    from engine.refusals import log_refusal

    log_refusal(request, kind, pk)
    return Http404()
