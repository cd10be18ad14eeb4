"""GET and POST /api/v1/notifications/: the caller's own messages, listed and marked read.

Scoped to the caller: nobody lists or marks another person's notifications (another's id is
simply not found). Marking is idempotent: a notification already read keeps its first read time,
so two racing "mark all" requests do no harm.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from engine.api.parsing import SafeJSONParser
from engine.models import Notification


class NotificationOut(serializers.Serializer):
    id = serializers.IntegerField()
    message = serializers.CharField()
    community = serializers.CharField(source="community.slug")
    item = serializers.IntegerField(source="instance.submission_id", allow_null=True, default=None)
    url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)

    def get_url(self, note) -> str | None:
        from django.urls import reverse

        return reverse("linli_item", args=[note.instance.submission_id]) if note.instance_id else None


Errors = inline_serializer("NotificationErrors", {
    "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField()))})


class Notifications(APIView):
    """GET: the caller's notifications, newest first (at most 100); `unread=true` for the unread
    only. POST: mark the caller's notifications read: `{"ids": [..]}` those (one's own only),
    `{"all": true}` every one; answers how many were newly marked and how many stay unread."""

    permission_classes = [IsAuthenticated]
    parser_classes = [SafeJSONParser]

    @extend_schema(parameters=[OpenApiParameter("unread", bool)], responses=NotificationOut(many=True))
    def get(self, request):
        notes = (Notification.objects.filter(user=request.user).select_related("community", "instance")
                 .order_by("-created_at", "-pk"))
        if request.query_params.get("unread") in ("1", "true", "True"):
            notes = notes.filter(read_at__isnull=True)
        return Response(NotificationOut(notes[:100], many=True).data)

    @extend_schema(request=inline_serializer("NotificationsReadRequest", {
        "ids": serializers.ListField(child=serializers.IntegerField(), required=False),
        "all": serializers.BooleanField(required=False)}),
        responses={200: inline_serializer("NotificationsReadResult", {
            "marked": serializers.IntegerField(), "unread": serializers.IntegerField()}), 400: Errors, 404: Errors})
    def post(self, request):
        body = request.data if isinstance(request.data, dict) else {}
        mine = Notification.objects.filter(user=request.user)
        ids = body.get("ids")
        if body.get("all") is True:
            chosen = mine
        elif isinstance(ids, list) and ids and all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            if mine.filter(pk__in=ids).count() != len(set(ids)):
                return Response({"errors": {"/ids": [_("No such notification")]}}, status=status.HTTP_404_NOT_FOUND)
            chosen = mine.filter(pk__in=ids)
        else:
            return Response({"errors": {"/ids": [_("Give the ids of the notifications to mark, or all: true")]}},
                            status=status.HTTP_400_BAD_REQUEST)
        marked = chosen.filter(read_at__isnull=True).update(read_at=timezone.now())
        return Response({"marked": marked, "unread": mine.filter(read_at__isnull=True).count()})
