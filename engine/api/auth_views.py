"""Signing in to the API (contract paths in DESIGN.md): a token for a username and password, or for
a mobile number and the one-time code sent to it. Thin: engine.services.sign_in sends and checks
codes, Django's authenticate() signs in (engine.security limits failed passwords)."""

from collections.abc import Mapping

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from engine import security
from engine.api.views import _too_many  # the API's one 429 shape
from engine.services import sign_in

Errors = inline_serializer("SignInErrors", {"errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField()))})


class TokenThrottle(AnonRateThrottle):
    rate = "30/min"


def _refused(refused: sign_in.SignInRefused):
    """400 (429 for a limit, 503 when no SMS could go) with `{"errors": {"/phone": [...]}}`."""
    pointer = f"/{refused.field}" if refused.field else ""
    headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
    return Response({"errors": {pointer: [refused.message]}}, status=refused.status, headers=headers)


@method_decorator(sensitive_post_parameters("password", "code"), name="dispatch")
class ObtainToken(ObtainAuthToken):
    """`POST {"username", "password"}` or `{"phone", "code"}` → `{"token"}`; send it as
    `Authorization: Token <token>`."""

    throttle_classes = [TokenThrottle]

    @extend_schema(
        request=inline_serializer("TokenRequest", {
            "username": serializers.CharField(required=False), "password": serializers.CharField(required=False),
            "phone": serializers.CharField(required=False, help_text="11-digit mobile number, with POST /api/v1/auth/code/"),
            "code": serializers.CharField(required=False, help_text="the 6-digit code sent to the number")}),
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()}), 400: Errors, 429: Errors},
    )
    def post(self, request, *args, **kwargs):
        data = request.data
        if isinstance(data, Mapping) and ("phone" in data or "code" in data):
            return self._by_code(request, data)
        # DRF's serializer calls authenticate(request=...): the sign-in limit of engine.security applies
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            refused = security.login_refused(request)
            if refused is None:
                raise
            return _too_many("login", refused)

    def _by_code(self, request, data):
        missing = {f"/{name}": [message] for name, message in (
            ("phone", _("Enter your 11-digit mobile number.")),
            ("code", _("Enter the 6-digit code from the text message."))) if data.get(name) in (None, "")}
        if missing:
            return Response({"errors": missing}, status=status.HTTP_400_BAD_REQUEST)
        user = authenticate(request._request, phone=data["phone"], code=data["code"])
        if user is None:
            return _refused(sign_in.refusal(request) or sign_in.SignInRefused(
                "code", "wrong_code", _("The code has expired or was already used. Ask for a new code.")))
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class SendCode(APIView):
    """`POST {"phone"}`: send a 6-digit sign-in code to the number, valid 5 minutes. The answer is the
    same whether or not the number is known (an unknown number becomes a resident's account when it
    signs in)."""

    permission_classes = [AllowAny]
    authentication_classes = []  # signing in needs no session (and so no CSRF token)

    @extend_schema(
        request=inline_serializer("CodeRequest", {"phone": serializers.CharField()}),
        responses={202: inline_serializer("CodeSent", {"detail": serializers.CharField(),
                                                      "expires_in": serializers.IntegerField()}),
                   400: Errors, 429: Errors, 503: Errors},
    )
    def post(self, request):
        data = request.data if isinstance(request.data, Mapping) else {}
        try:
            sent = sign_in.request_code(request, data.get("phone"))
        except sign_in.SignInRefused as refused:
            return _refused(refused)
        return Response({"detail": _("If the number can receive text messages, a code is on its way. "
                                     "It is valid for %(minutes)d minutes.") % {"minutes": sent.expires_in // 60},
                         "expires_in": sent.expires_in}, status=status.HTTP_202_ACCEPTED)
