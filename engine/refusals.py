"""Refused attempts to reach what one may not see are answered like a missing object (404),
and written to the `engine.security` log with who, what and from where, so that probing shows
up in the logs while telling the prober nothing."""

import logging

logger = logging.getLogger("engine.security")


def log_refusal(request, kind, pk):
    user = getattr(request, "user", None)
    who = f"user {user.pk} ({user.get_username()})" if user is not None and user.is_authenticated else "anonymous"
    logger.warning("refused %s %s to %s from %s: %s %s", kind, pk, who, request.META.get("REMOTE_ADDR", "-"),
                   request.method, request.path)
