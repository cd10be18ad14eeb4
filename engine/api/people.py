"""People and roles through the API, for those who manage the community (contract paths in DESIGN.md).

Thin: the policy says who may (`policy.is_admin`), `engine.services.people` writes and audits.
A caller who does not manage the community is refused (403); a person of another community is
simply not found (404), as if the id did not exist. Input errors are 400 with
`{"errors": {"<json pointer>": ["message"]}}` and nothing is written.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from engine import policy
from engine.api.parsing import SafeJSONParser
from engine.models import Community, Person, RoleAssignment
from engine.services import people as people_service

Errors = inline_serializer("PeopleErrors", {
    "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField()))})


class RoleOut(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.CharField()
    unit = serializers.CharField(source="unit.key")
    unit_name = serializers.CharField(source="unit.name")
    organisation = serializers.CharField()
    since = serializers.DateField(allow_null=True)
    until = serializers.DateField(allow_null=True)


class PersonOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    phone = serializers.CharField()
    unit = serializers.SerializerMethodField()
    unit_name = serializers.SerializerMethodField()
    is_member = serializers.BooleanField()
    external_id = serializers.CharField()
    active = serializers.BooleanField()
    account = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()

    def get_unit(self, person) -> str | None:
        return person.unit.key if person.unit_id else None

    def get_unit_name(self, person) -> str | None:
        return person.unit.name if person.unit_id else None

    def get_account(self, person) -> str | None:
        return person.user.get_username() if person.user_id else None

    def get_roles(self, person) -> list[dict]:
        return RoleOut(policy.current_assignments(person.roles.all()).select_related("unit").order_by("pk"),
                       many=True).data


PersonIn = inline_serializer("PersonRequest", {
    "name": serializers.CharField(), "phone": serializers.CharField(required=False),
    "unit": serializers.CharField(required=False), "is_member": serializers.BooleanField(required=False),
    "external_id": serializers.CharField(required=False), "reason": serializers.CharField(required=False)})
PersonPatch = inline_serializer("PersonPatch", {
    "name": serializers.CharField(required=False), "phone": serializers.CharField(required=False),
    "unit": serializers.CharField(required=False), "is_member": serializers.BooleanField(required=False),
    "external_id": serializers.CharField(required=False), "active": serializers.BooleanField(required=False),
    "reason": serializers.CharField(required=False)})
RoleIn = inline_serializer("RoleRequest", {
    "role": serializers.CharField(), "unit": serializers.CharField(help_text="a unit key, or \"organisation\""),
    "organisation": serializers.CharField(required=False), "until": serializers.DateField(required=False),
    "reason": serializers.CharField(required=False)})


def _managed(request, slug) -> Community:
    community = get_object_or_404(Community.objects.select_related("parent"), slug=slug)
    if not policy.manages_people(request.user, community):
        raise PermissionDenied()
    return community


def _person(community, pk) -> Person:
    return get_object_or_404(Person.objects.select_related("unit", "user", "community"), community=community, pk=pk)


def _body(request) -> dict | None:
    data = request.data
    return data if isinstance(data, dict) else None


def _not_an_object():
    return Response({"errors": {"": [_("The request body must be a JSON object.")]}}, status=400)


class PeopleList(APIView):
    """The community's people: search by `q` (name, last digits of the number, roster number), `unit`
    (a unit key: that unit and below), `role`; `inactive=1` includes deactivated people. POST adds one."""

    permission_classes = [IsAuthenticated]
    parser_classes = [SafeJSONParser]

    @extend_schema(responses={200: PersonOut(many=True)})
    def get(self, request, community):
        record = _managed(request, community)
        people = people_service.search_people(record, query=request.query_params.get("q", ""),
                                              unit=request.query_params.get("unit", ""),
                                              role=request.query_params.get("role", ""),
                                              include_inactive=request.query_params.get("inactive") in ("1", "true"))
        return Response(PersonOut(people[:200], many=True).data)

    @extend_schema(request=PersonIn, responses={201: PersonOut, 400: Errors})
    def post(self, request, community):
        record = _managed(request, community)
        data = _body(request)
        if data is None:
            return _not_an_object()
        try:
            person = people_service.add_person(
                record, actor=request.user, name=data.get("name"), phone=data.get("phone", ""),
                unit=data.get("unit"), is_member=bool(data.get("is_member", False)),
                external_id=str(data.get("external_id", "") or ""), reason=str(data.get("reason", "") or ""))
        except people_service.PeopleInvalid as error:
            return Response({"errors": error.errors}, status=400)
        return Response(PersonOut(person).data, status=201)


class PersonDetail(APIView):
    """One person; PATCH changes name, phone, unit, is_member, external_id, or `active` (deactivate)."""

    permission_classes = [IsAuthenticated]
    parser_classes = [SafeJSONParser]

    @extend_schema(responses={200: PersonOut})
    def get(self, request, community, pk):
        return Response(PersonOut(_person(_managed(request, community), pk)).data)

    @extend_schema(request=PersonPatch, responses={200: PersonOut, 400: Errors})
    def patch(self, request, community, pk):
        person = _person(_managed(request, community), pk)
        data = _body(request)
        if data is None:
            return _not_an_object()
        reason = str(data.get("reason", "") or "")
        changes = {key: value for key, value in data.items() if key not in ("active", "reason")}
        try:
            if "active" in data and not isinstance(data["active"], bool):
                raise people_service.PeopleInvalid({"/active": [_("Answer true or false.")]})
            if changes:
                person = people_service.edit_person(person, actor=request.user, changes=changes, reason=reason)
            if "active" in data:
                person = people_service.set_active(person, actor=request.user, active=data["active"], reason=reason)
        except people_service.PeopleInvalid as error:
            return Response({"errors": error.errors}, status=400)
        return Response(PersonOut(_person(person.community, person.pk)).data)


class PersonRoles(APIView):
    """Give the person a role at a unit (`{"role", "unit", "until"}`; `"unit": "organisation"` for a role
    held in one of community.yaml's organisations)."""

    permission_classes = [IsAuthenticated]
    parser_classes = [SafeJSONParser]

    @extend_schema(responses={200: RoleOut(many=True)})
    def get(self, request, community, pk):
        person = _person(_managed(request, community), pk)
        return Response(RoleOut(policy.current_assignments(person.roles.all()).select_related("unit"), many=True).data)

    @extend_schema(request=RoleIn, responses={201: RoleOut, 400: Errors})
    def post(self, request, community, pk):
        person = _person(_managed(request, community), pk)
        data = _body(request)
        if data is None:
            return _not_an_object()
        try:
            assignment = people_service.give_role(
                person, actor=request.user, role=data.get("role"), unit=data.get("unit"),
                organisation=str(data.get("organisation", "") or ""), until=data.get("until"),
                reason=str(data.get("reason", "") or ""))
        except people_service.PeopleInvalid as error:
            return Response({"errors": error.errors}, status=400)
        return Response(RoleOut(assignment).data, status=201)


class PersonRole(APIView):
    """Take a role away: it stops counting on the very next request."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request, community, pk, rid):
        person = _person(_managed(request, community), pk)
        assignment = get_object_or_404(RoleAssignment.objects.select_related("community", "person"), person=person,
                                       pk=rid)
        try:
            people_service.take_role(assignment, actor=request.user, reason=request.query_params.get("reason", ""))
        except people_service.PeopleInvalid:
            return Response(status=404)  # a racing request took it first
        return Response(status=204)


class PersonInvitation(APIView):
    """Create or link the person's account by their number and send them an SMS on how to sign in."""

    permission_classes = [IsAuthenticated]
    parser_classes = [SafeJSONParser]

    @extend_schema(request=None, responses={200: PersonOut, 400: Errors})
    def post(self, request, community, pk):
        person = _person(_managed(request, community), pk)
        try:
            people_service.invite(person, actor=request.user)
        except people_service.PeopleInvalid as error:
            return Response({"errors": error.errors}, status=400)
        return Response(PersonOut(_person(person.community, person.pk)).data)
