"""Request bodies that are not what the API expects get the contract's error shape, never a 500."""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler


class SafeJSONParser(JSONParser):
    """JSON nested deeper than Python's recursion limit is a bad body (400), not a crash."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON nested too deeply") from None


def linli_exception_handler(exc, context):
    """DRF's handler, with Django's size refusals and DRF's own errors in {"errors": {...}}."""
    if isinstance(exc, RequestDataTooBig):
        return Response({"errors": {"": ["请求内容过大 / The request body is too large"]}}, status=413)
    if isinstance(exc, (TooManyFilesSent, TooManyFieldsSent)):
        return Response({"errors": {"": ["文件或字段过多 / Too many files or fields"]}}, status=400)
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, ParseError):
        response.data = {"errors": {"": [str(exc.detail)]}}
    return response
