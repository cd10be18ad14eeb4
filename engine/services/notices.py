"""Public notices (公示): where a notice stands now, and objecting to it — for the public page and the API alike.

A notice is a state of a flow with a `notice:` block (its window, the transition that takes an
objection, the one that confirms in silence). Its page is drafted once, but its standing follows
the item: open while the item is in that state and the window has not closed; "objected" once the
objection transition took it out (then the flow decides: review, reopen…); "ended" when it left any
other way. The objection itself is the flow's own transition, taken by the one action
(`adapter.take`), so it is checked (who may: the flow's actor, e.g. `by: resident`), audited with
its reason, and races like any other step.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from engine.forms.spec import text
from engine.models import AuditEvent, FlowInstance
from engine.workflow import adapter

REASON_MAX = 1000


@dataclass(frozen=True)
class Standing:
    status: str  # open | objected | ended
    state_title: str  # the item's state now, in the reader's language
    objection: str  # the transition that takes an objection ("" when the flow names none)
    until: object = None  # the window's last day, while open


class ObjectionRefused(Exception):
    """Why an objection was not taken, in words for the person (and the field it concerns)."""

    def __init__(self, message, field="reason"):
        super().__init__(message)
        self.message, self.field = message, field


def _notice_states(flow):
    return {name: state.notice for name, state in flow.states.items() if state.notice}


def standing(instance: FlowInstance | None, until, language="zh-hans") -> Standing | None:
    """Where the notice drafted from `instance` stands today (None when it has no item or no notice)."""
    if instance is None:
        return None
    flow = adapter.compiled(instance)
    notices = _notice_states(flow)
    if not notices:
        return None
    state = flow.states.get(instance.state)
    title = text(state.title, language) if state else instance.state
    if instance.state in notices:
        notice = notices[instance.state]
        still = until is None or timezone.localdate() <= until
        return Standing("open" if still and not instance.finished_at else "ended", title,
                        notice.get("on_objection", ""), until if still else None)
    left = (AuditEvent.objects.filter(instance=instance, from_state__in=list(notices)).order_by("-created_at", "-pk")
            .values_list("transition", "from_state").first())
    objected = left is not None and left[0] == notices[left[1]].get("on_objection")
    return Standing("objected" if objected else "ended", title, "")


def may_object(user, instance: FlowInstance, objection: str) -> bool:
    """Does the flow offer this person the objection now? (The flow's actor decides: usually any
    signed-in resident of the community.)"""
    if not objection or not user.is_authenticated:
        return False
    return any(option.transition.name == objection for option in adapter.open_transitions(user, instance))


def object_to(*, instance: FlowInstance, user, reason: str, until=None) -> FlowInstance:
    """Take the notice's objection transition for `user`, with their reason as the step's comment."""
    reason = (reason or "").strip()
    if not reason:
        raise ObjectionRefused(_("Write the reason for your objection."))
    if len(reason) > REASON_MAX:
        raise ObjectionRefused(_("The reason is too long (at most %(max)d characters).") % {"max": REASON_MAX})
    found = standing(instance, until)
    if found is None or found.status != "open" or not found.objection:
        raise ObjectionRefused(_("This public notice is closed: objections are no longer taken."), field="")
    if not may_object(user, instance, found.objection):
        raise ObjectionRefused(_("Only residents of this community may object to this notice."), field="")
    try:
        return adapter.take(instance_id=instance.pk, name=found.objection, user=user, comment=reason,
                            expected_version=instance.version)
    except adapter.TransitionConflict:
        raise ObjectionRefused(_("The notice changed meanwhile: look at where it stands now."), field="") from None
    except adapter.TransitionError:
        raise ObjectionRefused(_("Your objection could not be recorded: the notice does not take it now."),
                               field="") from None
