"""Words for a refused step that come from the flow itself. A guard that does not hold is answered
with the flow's own `guard_message` (a string, or one per language) in the reader's language, so
the person learns what to do ("评价为满意时，请选择“评议”办结。"), not that "conditions are not met";
only a guard the author left without a message falls back to the generic words. The API and the
item page both ask here, so they say the same thing."""

from django.utils.translation import gettext

from engine.forms.spec import text


def guard_refusal(flow, transition_name: str, language: str) -> str:
    """What to tell a person whose step `transition_name` of `flow` (compiled) a guard refused."""
    transition = flow.transitions.get(transition_name)
    message = transition.guard_message if transition is not None else ""
    words = text(message, language or "zh-hans").strip() if message else ""
    return words or gettext("The conditions for this step are not met")


def ballot_refusal(reason: str, fallback: str = "") -> str:
    """Why a ballot was not taken (engine.workflow.adapter.cast_ballot's reasons), in the reader's
    language: the API's answer and the item page's notice."""
    words = {"vote_closed": gettext("The vote has closed"),
             "voted": gettext("This voter has already voted"),
             "not_actor": gettext("Not in the electorate of this vote"),
             "no_vote": gettext("This item has no vote open now"),
             "option": gettext("Choose one of the options"),
             "paper": gettext("This vote takes no paper ballots"),
             "proxy": gettext("This proxy already holds as many ballots as the vote allows")}
    return words.get(reason) or fallback or gettext("The ballot was not taken")
