"""The Linli admin area: a community's people and the roles they hold, in the browser (no shell needed).

A thin adapter over `engine.services.people`: every write is one of its actions (add_person,
edit_person, set_active, give_role, take_role, invite, link_account, grant_manage, revoke_manage),
called with actor=request.user, which checks the input against the live community.yaml, writes and
audits in one transaction. A refusal (`PeopleInvalid`, messages keyed by JSON pointer) is shown next
to the form field the pointer names, and nothing was written. This module writes no row itself.

Who may (the answers come from the area's one policy object, `community_policy`, over
`engine.policy.is_admin`):
- a community's people screens: those who manage the community, and those who manage the street
  above it (a street's admin reaches each community of the street); anyone else gets a 404, exactly
  like a community that does not exist, and the attempt goes to the security log;
- a street's own people (its secretary, its liaisons): those who manage the street;
- appointing or removing an admin through django-guardian's permission: superusers and those who
  manage the community itself (not through its street) — a street's admin may look, not appoint.

URLs (namespace "linli", under /admin/linli/):
    "people/<community>/"                                     the people, searched; add, overview, log
    "people/<community>/add/"                                 add a person
    "people/<community>/roles/"                               roles by unit, vacancies, guardian's admins
    "people/<community>/changes/"                             the change log (?person=<id> for one)
    "people/<community>/managers/grant/"                      POST: give guardian's manage permission
    "people/<community>/managers/<user>/revoke/"              confirm, then POST: take it away
    "people/<community>/<person>/"                            a person: details, roles, account, trail
    "people/<community>/<person>/edit/"                       edit the details
    "people/<community>/<person>/roles/"                      POST: give a role
    "people/<community>/<person>/roles/<assignment>/take/"    confirm, then POST: take it away
    "people/<community>/<person>/active/"                     confirm, then POST: (de)activate
    "people/<community>/<person>/invite/"                     POST: make or link the account, send an SMS
    "people/<community>/<person>/account/"                    POST: link an existing account
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, re_path, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext, gettext_lazy as _
from wagtail.admin import messages
from wagtail.admin.paginator import WagtailPaginator

from engine import policy
from engine.forms.spec import text
from engine.models import Community, Definition, OrgUnit, PeopleChange, Person, RoleAssignment
from engine.privacy import mask_phone
from engine.refusals import log_refusal
from engine.services import people as service

from .admin_views import LinliAdminView, _language, community_policy

PEOPLE_PER_PAGE = 25
CHANGES_PER_PAGE = 50
TRAIL_LENGTH = 50  # on a person's page; the change log has the rest


# ---------------------------------------------------------------- who may


def may_manage_people(user, community: Community) -> bool:
    """Those who manage the community, or the street it belongs to (engine.policy decides)."""
    return policy.manages_people(user, community)


def may_appoint(user, community: Community) -> bool:
    """Guardian's manage permission is given and taken by those who manage the community itself."""
    return policy.is_admin(user, community)


def people_community(request, slug) -> Community:
    community = Community.objects.select_related("parent").filter(slug=slug).first()
    if community is None or not may_manage_people(request.user, community):
        if community is not None:
            log_refusal(request, "community people", slug)
        raise Http404
    return community


# ---------------------------------------------------------------- the community's words


@dataclass
class Words:
    """What the screens call a community's roles, organisations, levels and units (live community.yaml)."""

    roles: dict  # key -> engine.services.people.RoleSpec
    organisations: dict  # key -> title
    levels: dict  # key -> title
    units: list  # active units, tree order
    unit_names: dict = field(default_factory=dict)  # key -> name, also of units no longer in the file

    @classmethod
    def of(cls, community: Community) -> "Words":
        language = _language()
        record = Definition.objects.filter(community=community, kind="community").select_related("live_version").first()
        data = record.live_version.data if record and record.live_version else {}
        levels = {level["key"]: text(level.get("title", level["key"]), language) for level in data.get("levels", [])}
        every = list(OrgUnit.objects.filter(community=community).order_by("path"))
        return cls(roles=service.community_roles(community, language),
                   organisations=service.community_organisations(community, language),
                   levels=levels, units=[u for u in every if u.active],
                   unit_names={u.key: u.name for u in every})

    def role(self, key) -> str:
        spec = self.roles.get(key)
        return spec.title if spec else key

    def unit(self, key) -> str:
        return self.unit_names.get(key, key) if key else ""

    def organisation(self, key) -> str:
        return self.organisations.get(key, key) if key else ""

    def level(self, key) -> str:
        return self.levels.get(key, key) if key else ""

    def unit_choices(self):
        """(key, name indented by depth) in tree order, for a unit picker."""
        return [(u.key, "\u3000" * (u.depth - 1) + u.name) for u in self.units]


# ---------------------------------------------------------------- forms


class OptionDataSelect(forms.Select):
    """A select whose options carry data- attributes (`option_data`: value -> {name: value}), so the
    role picker can tell the unit picker which level it needs."""

    def __init__(self, *args, option_data=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.option_data = option_data or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex=subindex, attrs=attrs)
        for key, data in self.option_data.get(str(value), {}).items():
            option["attrs"][f"data-{key}"] = data
        return option


def reason_field(label=_("Reason"), help_text=_("Kept in the change log with your name.")):
    return forms.CharField(label=label, required=False, help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": 2}))


class PersonForm(forms.Form):
    """A person's details. Only the choice of unit is checked here; the service checks the rest."""

    name = forms.CharField(label=_("Name"), required=False)
    phone = forms.CharField(label=_("Mobile number"), required=False,
                            help_text=_("11 digits; the person signs in with it once invited."),
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    unit = forms.ChoiceField(label=_("Unit"), required=False,
                             help_text=_("Where the person lives: a compound, grid or household."))
    is_member = forms.BooleanField(label=_("Party member"), required=False)
    external_id = forms.CharField(label=_("Roster number"), required=False)
    reason = reason_field()

    POINTERS = {"/name": "name", "/phone": "phone", "/unit": "unit", "/is_member": "is_member",
                "/external_id": "external_id", "/reason": "reason"}

    def __init__(self, *args, words: Words, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", "—")] + words.unit_choices()
        if editing:  # what the admin's page showed travels with the form (see `edited`)
            for name in service.EDITABLE:
                self.fields[f"seen_{name}"] = forms.CharField(required=False, widget=forms.HiddenInput)
                self.initial.setdefault(f"seen_{name}", self.initial.get(name))

    def edited(self) -> dict:
        """The fields the admin changed from what their page showed, with their new values: an edit
        from a page that another admin's change made stale changes only what this admin changed."""
        changes = {}
        for name in service.EDITABLE:
            seen = self.data[f"seen_{name}"] if f"seen_{name}" in self.data else self.initial.get(name)
            if self.fields[name].has_changed(seen, self[name].data):
                changes[name] = self.cleaned_data[name] if name != "unit" else self.cleaned_data[name] or None
        return changes


class GiveRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"))
    unit = forms.ChoiceField(label=_("At unit"), required=False,
                             help_text=_("A unit of the role's level. A role held in an organisation may be held "
                                         "“in the organisation”, at no particular unit."))
    organisation = forms.ChoiceField(label=_("Organisation"), required=False,
                                     help_text=_("Only for a role held in an organisation; set by itself when the "
                                                 "role belongs to one."))
    until = forms.CharField(label=_("Until"), required=False, help_text=_("Optional: the last day of the term."),
                            widget=forms.DateInput(attrs={"type": "date"}))
    reason = reason_field()

    POINTERS = {"/role": "role", "/unit": "unit", "/organisation": "organisation", "/until": "until",
                "/reason": "reason"}

    def __init__(self, *args, words: Words, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", "—")] + [(key, spec.title) for key, spec in words.roles.items()]
        self.fields["role"].widget = OptionDataSelect(option_data={
            key: {"level": spec.level, "organisation": spec.organisation} for key, spec in words.roles.items()})
        self.fields["role"].widget.choices = self.fields["role"].choices
        units = [("", gettext("— the community as a whole (a role without a level)")),
                 (service.ORGANISATION_UNIT, gettext("— in its organisation, at no particular unit"))]
        self.fields["unit"].choices = units + words.unit_choices()
        self.fields["unit"].widget = OptionDataSelect(option_data={u.key: {"level": u.level} for u in words.units})
        self.fields["unit"].widget.choices = self.fields["unit"].choices
        self.fields["organisation"].choices = [("", "—")] + list(words.organisations.items())


class ReasonForm(forms.Form):
    reason = reason_field()
    POINTERS = {"/reason": "reason"}


class InviteForm(ReasonForm):
    pass


class LinkAccountForm(forms.Form):
    username = forms.CharField(label=_("Username of the account"), required=False)
    reason = reason_field()
    POINTERS = {"/account": "username", "/reason": "reason"}


class GrantForm(forms.Form):
    username = forms.CharField(label=_("Username of the account"), required=False)
    reason = reason_field()
    POINTERS = {"/account": "username", "/reason": "reason"}


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Name, roster number or last digits of the mobile number"), required=False,
                        help_text=_("For a number, give its last 3 to 11 digits."))
    unit = forms.ChoiceField(label=_("Unit (and below)"), required=False)
    role = forms.ChoiceField(label=_("Role"), required=False)
    inactive = forms.BooleanField(label=_("Include deactivated people"), required=False)

    def __init__(self, *args, words: Words, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", gettext("All units"))] + words.unit_choices()
        self.fields["role"].choices = [("", gettext("Any role"))] + [(k, s.title) for k, s in words.roles.items()]


def show_refusal(form, refusal: service.PeopleInvalid):
    """Put the service's messages next to the fields their pointers name (the rest above the form)."""
    for pointer, problems in refusal.errors.items():
        name = form.POINTERS.get(pointer)
        for problem in problems:
            form.add_error(name if name in form.fields else None, problem)


# ---------------------------------------------------------------- what the screens show


def roles_in_force(people) -> dict[int, list[RoleAssignment]]:
    """person id -> their roles in force (the policy's one query), in one query for the lot."""
    held: dict[int, list] = {}
    for assignment in (policy.current_assignments().filter(person__in=[p.pk for p in people])
                       .select_related("unit").order_by("unit__path", "role")):
        held.setdefault(assignment.person_id, []).append(assignment)
    return held


def display_name(user) -> str:
    if user is None:
        return gettext("not recorded")
    full = user.get_full_name().strip()
    return f"{full} ({user.get_username()})" if full and full != user.get_username() else user.get_username()


FIELD_LABELS = {"name": _("Name"), "phone": _("Mobile number"), "unit": _("Unit"), "is_member": _("Party member"),
                "external_id": _("Roster number")}


def describe(change: PeopleChange, words: Words, *, mask: bool) -> list[str]:
    """What a change did, in the admin's words: one line per fact (role at unit, field before → after)."""
    data = change.data or {}

    def value(key, raw):
        if raw is None or raw == "":
            return "—"
        if isinstance(raw, bool):
            return gettext("yes") if raw else gettext("no")
        if key == "phone":
            return mask_phone(raw) if mask else raw
        if key == "unit":
            return words.unit(raw)
        return str(raw)

    lines = []
    if data.get("role"):
        place = words.unit(data.get("unit"))
        if data.get("organisation"):
            place = f"{place} · {words.organisation(data['organisation'])}" if place else words.organisation(
                data["organisation"])
        lines.append(gettext("%(role)s at %(unit)s") % {"role": words.role(data["role"]), "unit": place or "—"})
        if data.get("until"):
            lines.append(gettext("until %(day)s") % {"day": data["until"]})
    if change.action == PeopleChange.Action.EDIT_PERSON:
        before, after = data.get("before") or {}, data.get("after") or {}
        for key in after:
            lines.append(gettext("%(field)s: %(before)s → %(after)s")
                         % {"field": FIELD_LABELS.get(key, key), "before": value(key, before.get(key)),
                            "after": value(key, after.get(key))})
    elif change.action == PeopleChange.Action.ADD_PERSON:
        after = data.get("after") or {}
        for key in ("phone", "unit", "is_member", "external_id"):
            if after.get(key):
                lines.append(gettext("%(field)s: %(value)s")
                             % {"field": FIELD_LABELS[key], "value": value(key, after[key])})
    elif change.action == PeopleChange.Action.IMPORT:
        figures = {key: data.get(key, 0) for key in ("rows", "created", "updated", "roles", "invited")}
        lines.append(gettext("file %(file)s: %(rows)s rows, %(created)s people added, %(updated)s updated, "
                             "%(roles)s roles given, %(invited)s invited") % {**figures, "file": data.get("file", "—")})
    account = data.get("account") or data.get("username")  # the latter when signing in linked the number
    if account:
        lines.append(gettext("account %(account)s") % {"account": mask_phone(account) if mask and account.isdigit()
                                                       else account})
    return lines


@dataclass
class ChangeRow:
    change: PeopleChange
    actor: str
    lines: list


def change_rows(changes, words: Words, *, mask: bool) -> list[ChangeRow]:
    return [ChangeRow(c, display_name(c.actor), describe(c, words, mask=mask)) for c in changes]


def live_vacancies(community):
    """engine.services.vacancies.vacancies(community), or None where that module is missing (it came
    later than these screens; without it the overview shows the roles held and vacant, not the needs)."""
    try:
        from engine.services.vacancies import vacancies
    except ImportError:
        return None
    return list(vacancies(community, language=_language()))


def needed_by(vacancy) -> list[tuple[str, str]]:
    """(flow, step) titles of the steps that need a vacant role (keys where titles are missing)."""
    return list(getattr(vacancy, "needed_by_titles", None) or vacancy.needed_by or [])


def _key(value) -> str:
    return getattr(value, "key", value) or ""


def optional_url(name, **kwargs) -> str:
    try:
        return reverse(f"linli:{name}", kwargs=kwargs)
    except NoReverseMatch:
        return ""


def paginate(request, items, per_page):
    paginator = WagtailPaginator(items, per_page)
    page = paginator.get_page(request.GET.get("p"))
    return page, paginator.get_elided_page_range(page.number)


# ---------------------------------------------------------------- views


def people_url(community, name="people", **kwargs) -> str:
    return reverse(f"linli:{name}", kwargs={"community": community.slug, **kwargs})


def person_url(person, name="people_person", **kwargs) -> str:
    return reverse(f"linli:{name}", kwargs={"community": person.community.slug, "person": person.pk, **kwargs})


class PeopleView(LinliAdminView):
    """A screen of one community's people: finds the community (or 404) and its words."""

    header_icon = "group"

    def dispatch(self, request, *args, **kwargs):
        self.community = people_community(request, kwargs["community"])
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def words(self) -> Words:
        return Words.of(self.community)

    def get_page_subtitle(self):
        return str(self.community)

    def trail(self):
        """Breadcrumbs between the community and this page."""
        return [{"url": people_url(self.community), "label": gettext("People and roles")}]

    def get_breadcrumbs_items(self):
        return super().get_breadcrumbs_items() + [
            {"url": reverse("linli:index") + f"#community-{self.community.slug}-section", "label": str(self.community)},
            *self.trail(),
            {"url": "", "label": self.get_page_title(), "sublabel": self.get_page_subtitle()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(community=self.community, words=self.words,
                       links={"people": people_url(self.community), "add": people_url(self.community, "people_add"),
                              "roles": people_url(self.community, "people_roles"),
                              "changes": people_url(self.community, "people_changes"),
                              "roster": self.roster_url()})
        return context

    def roster_url(self) -> str:
        """The roster import, for a community the user manages itself (a street's admin gets no link: the
        import is for the community's own admins)."""
        if (self.community.kind != Community.Kind.COMMUNITY
                or self.community.pk not in community_policy.get_cached_permissions_for_user(self.request.user)):
            return ""
        return optional_url("roster_import", community=self.community.slug)


class PeopleListView(PeopleView):
    """The people, searched by name, number, unit (and below) and role; paginated."""

    template_name = "cms/admin/people.html"

    def get_page_title(self):
        return gettext("People and roles")

    def trail(self):
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = SearchForm(self.request.GET or None, words=self.words)
        if form.is_bound and not form.is_valid():
            people = Person.objects.none()
        else:
            query = form.cleaned_data if form.is_bound else {}
            people = service.search_people(self.community, query=query.get("q", ""), unit=query.get("unit", ""),
                                           role=query.get("role", ""), include_inactive=query.get("inactive", False))
        page, page_range = paginate(self.request, people, PEOPLE_PER_PAGE)
        held = roles_in_force(page.object_list)
        rows = [{"person": person, "url": person_url(person), "phone": mask_phone(person.phone),
                 "roles": [{"title": self.words.role(a.role), "unit": a.unit.name} for a in held.get(person.pk, [])]}
                for person in page.object_list]
        context.update(form=form, rows=rows, page=page, elided_page_range=page_range,
                       searching=form.is_bound,
                       streets_communities=[{"name": str(c), "url": people_url(c)} for c in
                                            Community.objects.filter(parent=self.community).order_by("slug")]
                       if self.community.kind == Community.Kind.STREET else [])
        return context


class PersonFormView(PeopleView):
    """Add a person (no `person` in the URL) or edit one."""

    template_name = "cms/admin/people_form.html"

    @cached_property
    def person(self):
        if "person" not in self.kwargs:
            return None
        return get_object_or_404(Person.objects.select_related("unit", "community"), community=self.community,
                                 pk=self.kwargs["person"])

    def get_page_title(self):
        return gettext("Add a person") if self.person is None else gettext("Edit %(name)s") % {"name": self.person.name}

    def trail(self):
        items = super().trail()
        if self.person is not None:
            items.append({"url": person_url(self.person), "label": self.person.name})
        return items

    def initial(self):
        person = self.person
        if person is None:
            return {}
        return {"name": person.name, "phone": person.phone, "unit": person.unit.key if person.unit_id else "",
                "is_member": person.is_member, "external_id": person.external_id}

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(form=form or self.form(), person=self.person,
                       cancel_url=person_url(self.person) if self.person else people_url(self.community))
        return context

    def form(self, data=None):
        return PersonForm(data, initial=self.initial(), words=self.words, editing=self.person is not None)

    def post(self, request, *args, **kwargs):
        form = self.form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if self.person is None:
                    person = service.add_person(self.community, actor=request.user, name=data["name"],
                                                phone=data["phone"], unit=data["unit"] or None,
                                                is_member=data["is_member"], external_id=data["external_id"],
                                                reason=data["reason"])
                    messages.success(request, gettext("%(name)s was added.") % {"name": person.name})
                    return redirect(person_url(person))
                changes = form.edited()
                if not changes:
                    messages.info(request, gettext("Nothing was changed."))
                    return redirect(person_url(self.person))
                person = service.edit_person(self.person, actor=request.user, changes=changes, reason=data["reason"])
                messages.success(request, gettext("The details of %(name)s were saved.") % {"name": person.name})
                return redirect(person_url(person))
            except service.PeopleInvalid as refusal:
                show_refusal(form, refusal)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PersonMixin:
    """The person in the URL, among the community's people (else 404)."""

    @cached_property
    def person(self):
        return get_object_or_404(Person.objects.select_related("unit", "user", "community"),
                                 community=self.community, pk=self.kwargs["person"])


class PersonView(PersonMixin, PeopleView):
    """A person: details, roles (take away; give one), account (invite; link), (de)activate, trail."""

    template_name = "cms/admin/people_person.html"

    def get_page_title(self):
        return self.person.name

    def roles(self):
        in_force = set(policy.current_assignments(self.person.roles.all()).values_list("pk", flat=True))
        rows = []
        for assignment in self.person.roles.select_related("unit").order_by("unit__path", "role"):
            rows.append({"assignment": assignment, "title": self.words.role(assignment.role),
                         "unit": assignment.unit.name, "organisation": self.words.organisation(assignment.organisation),
                         "in_force": assignment.pk in in_force,
                         "take_url": person_url(self.person, "people_take", assignment=assignment.pk)})
        return rows

    def get_context_data(self, give_form=None, invite_form=None, link_form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        person = self.person
        changes = (PeopleChange.objects.filter(community=self.community, person=person)
                   .select_related("actor").order_by("-created_at", "-pk"))
        context.update(
            person=person, roles=self.roles(),
            give_form=give_form or GiveRoleForm(words=self.words),
            invite_form=invite_form or InviteForm(), link_form=link_form or LinkAccountForm(),
            trail=change_rows(changes[:TRAIL_LENGTH], self.words, mask=False),
            more_changes=changes.count() > TRAIL_LENGTH,
            urls={"edit": person_url(person, "people_edit"), "give": person_url(person, "people_give"),
                  "invite": person_url(person, "people_invite"), "link": person_url(person, "people_link"),
                  "active": person_url(person, "people_active"),
                  "changes": people_url(self.community, "people_changes") + f"?person={person.pk}"},
        )
        return context


class GiveRoleView(PersonView):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = GiveRoleForm(request.POST, words=self.words)
        if form.is_valid():
            data = form.cleaned_data
            try:
                assignment = service.give_role(self.person, actor=request.user, role=data["role"],
                                               unit=data["unit"] or None, organisation=data["organisation"],
                                               until=data["until"] or None, reason=data["reason"])
            except service.PeopleInvalid as refusal:
                show_refusal(form, refusal)
            else:
                messages.success(request, gettext("%(name)s now holds “%(role)s” at %(unit)s.")
                                 % {"name": self.person.name, "role": self.words.role(assignment.role),
                                    "unit": assignment.unit.name})
                return redirect(person_url(self.person))
        return self.render_to_response(self.get_context_data(give_form=form), status=400)


class InviteView(PersonView):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = InviteForm(request.POST)
        if form.is_valid():
            try:
                user = service.invite(self.person, actor=request.user, reason=form.cleaned_data["reason"])
            except service.PeopleInvalid as refusal:
                show_refusal(form, refusal)
            else:
                messages.success(request, gettext("%(name)s is invited: the account “%(account)s” is linked and a text "
                                                  "message goes to %(phone)s.")
                                 % {"name": self.person.name, "account": user.get_username(),
                                    "phone": mask_phone(self.person.phone)})
                return redirect(person_url(self.person))
        return self.render_to_response(self.get_context_data(invite_form=form), status=400)


class LinkAccountView(PersonView):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = LinkAccountForm(request.POST)
        if form.is_valid():
            username = form.cleaned_data["username"].strip()
            try:
                service.link_account(self.person, actor=request.user, username=username,
                                     reason=form.cleaned_data["reason"])
            except service.PeopleInvalid as refusal:
                show_refusal(form, refusal)
            else:
                messages.success(request, gettext("The account “%(account)s” is linked to %(name)s.")
                                 % {"account": username, "name": self.person.name})
                return redirect(person_url(self.person))
        return self.render_to_response(self.get_context_data(link_form=form), status=400)


class ConfirmView(PeopleView):
    """GET: what is about to happen, with a reason to give; POST: do it. Template people_confirm.html."""

    template_name = "cms/admin/people_confirm.html"

    # each confirmation (take a role, deactivate, revoke a permission) says these four; the base has none
    def question(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must say what is about to happen")

    def details(self) -> list[str]:
        return []

    def button(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must name its button")

    def back_url(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must say where cancelling leads")

    def get_page_title(self):
        return self.question()

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(question=self.question(), details=self.details(), button=self.button(),
                       form=form or ReasonForm(), cancel_url=self.back_url(), hidden=self.hidden())
        return context

    def hidden(self) -> dict:
        return {}

    def post(self, request, *args, **kwargs):
        form = ReasonForm(request.POST)
        if form.is_valid():
            try:
                return self.act(form.cleaned_data["reason"])
            except service.PeopleInvalid as refusal:
                show_refusal(form, refusal)
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def act(self, reason):
        raise NotImplementedError(f"{type(self).__name__} must carry out the change")


class TakeRoleView(PersonMixin, ConfirmView):
    @cached_property
    def assignment(self):
        return (RoleAssignment.objects.select_related("unit", "community")
                .filter(person=self.person, pk=self.kwargs["assignment"]).first())

    def get(self, request, *args, **kwargs):
        if self.assignment is None:
            raise Http404
        return super().get(request, *args, **kwargs)

    def trail(self):
        return super().trail() + [{"url": person_url(self.person), "label": self.person.name}]

    def question(self):
        return gettext("Take “%(role)s” away from %(name)s?") % {"role": self.words.role(self.assignment.role),
                                                                 "name": self.person.name}

    def details(self):
        assignment = self.assignment
        lines = [gettext("%(role)s at %(unit)s") % {"role": self.words.role(assignment.role),
                                                    "unit": assignment.unit.name}]
        if assignment.until:
            lines.append(gettext("until %(day)s") % {"day": assignment.until.isoformat()})
        lines.append(gettext("It stops counting at once: the steps of flows that need it are no longer theirs."))
        return lines

    def button(self):
        return gettext("Take it away")

    def back_url(self):
        return person_url(self.person)

    def post(self, request, *args, **kwargs):
        if self.assignment is None:  # taken away meanwhile (another admin, a second click)
            messages.warning(request, gettext("This role was already taken away."))
            return redirect(person_url(self.person))
        return super().post(request, *args, **kwargs)

    def act(self, reason):
        title = self.words.role(self.assignment.role)
        try:
            service.take_role(self.assignment, actor=self.request.user, reason=reason)
        except service.PeopleInvalid as refusal:
            if "/role" not in refusal.errors:
                raise
            messages.warning(self.request, " ".join(refusal.errors["/role"]))
            return redirect(person_url(self.person))
        messages.success(self.request, gettext("“%(role)s” was taken away from %(name)s.")
                         % {"role": title, "name": self.person.name})
        return redirect(person_url(self.person))


class ActiveView(PersonMixin, ConfirmView):
    """Deactivate an active person, reactivate an inactive one. The POST says which (`active`), so a
    second click or a stale page does not undo what it meant to do."""

    def trail(self):
        return super().trail() + [{"url": person_url(self.person), "label": self.person.name}]

    def question(self):
        if self.person.active:
            return gettext("Deactivate %(name)s?") % {"name": self.person.name}
        return gettext("Reactivate %(name)s?") % {"name": self.person.name}

    def details(self):
        if self.person.active:
            return [gettext("A deactivated person (moved away, left) holds no role: their roles stop counting at once "
                            "and come back if they are reactivated. Nothing is deleted.")]
        return [gettext("Their roles that have not ended count again.")]

    def button(self):
        return gettext("Deactivate") if self.person.active else gettext("Reactivate")

    def hidden(self):
        return {"active": "0" if self.person.active else "1"}

    def back_url(self):
        return person_url(self.person)

    def act(self, reason):
        wanted = self.request.POST.get("active")
        if wanted not in ("0", "1"):
            raise Http404  # only a hand-made request lacks it
        active = wanted == "1"
        if self.person.active == active:
            messages.info(self.request, (gettext("%(name)s is already active.") if active
                                         else gettext("%(name)s is already deactivated.")) % {"name": self.person.name})
            return redirect(person_url(self.person))
        service.set_active(self.person, actor=self.request.user, active=active, reason=reason)
        messages.success(self.request, (gettext("%(name)s was reactivated.") if active
                                        else gettext("%(name)s was deactivated.")) % {"name": self.person.name})
        return redirect(person_url(self.person))


class RolesView(PeopleView):
    """For each unit (tree order), each role of its level with its holders or "vacant"; the vacancies a
    live flow needs; the accounts holding guardian's manage permission on the community directly."""

    template_name = "cms/admin/people_roles.html"

    def get_page_title(self):
        return gettext("Roles overview")

    def get_context_data(self, grant_form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        needed = live_vacancies(self.community)
        needs = {}
        for vacancy in needed or []:
            needs.setdefault((_key(vacancy.role), _key(vacancy.unit)), []).extend(
                gettext("%(flow)s, step “%(step)s”") % {"flow": flow, "step": step}
                for flow, step in needed_by(vacancy))
        units, current = [], None
        for unit, spec, holders in service.holders_by_unit(self.community):
            if current is None or current["unit"].pk != unit.pk:
                current = {"unit": unit, "level": self.words.level(unit.level), "indent": unit.depth - 1, "roles": []}
                units.append(current)
            current["roles"].append({
                "title": spec.title, "key": spec.key,
                "holders": [{"name": a.person.name, "url": person_url(a.person), "until": a.until,
                             "organisation": self.words.organisation(a.organisation)} for a in holders],
                "needed_by": needs.get((spec.key, unit.key), []),
            })
        appoint = may_appoint(self.request.user, self.community)
        managers = [{"user": user, "name": display_name(user),
                     "revoke_url": people_url(self.community, "people_revoke", user=user.pk)}
                    for user in service.managers_by_permission(self.community)]
        context.update(
            units=units, vacancies_known=needed is not None,
            vacancies=[{"role": getattr(v, "role_title", "") or self.words.role(_key(v.role)),
                        "unit": getattr(v, "unit_name", "") or self.words.unit(_key(v.unit)),
                        "needed_by": needs.get((_key(v.role), _key(v.unit)), [])} for v in needed or []],
            managers=managers, may_appoint=appoint,
            grant_form=grant_form or GrantForm(), grant_url=people_url(self.community, "people_grant"),
        )
        return context


class AppointMixin:
    def check_may_appoint(self):
        if not may_appoint(self.request.user, self.community):
            raise PermissionDenied  # they see the community (its street's admin), but may not appoint


class GrantView(AppointMixin, RolesView):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        self.check_may_appoint()
        form = GrantForm(request.POST)
        if form.is_valid():
            username = form.cleaned_data["username"].strip()
            user = get_user_model().objects.filter(username=username, is_active=True).first() if username else None
            if user is None:
                form.add_error("username", gettext("No account “%(name)s”.") % {"name": username[:150]})
            elif any(holder.pk == user.pk for holder in service.managers_by_permission(self.community)):
                messages.info(request, gettext("%(account)s holds the permission already.")
                              % {"account": display_name(user)})
                return redirect(people_url(self.community, "people_roles"))
            else:
                try:
                    service.grant_manage(self.community, actor=request.user, user=user,
                                         reason=form.cleaned_data["reason"])
                except service.PeopleInvalid as refusal:
                    show_refusal(form, refusal)
                else:
                    messages.success(request, gettext("%(account)s now manages %(community)s.")
                                     % {"account": display_name(user), "community": self.community})
                    return redirect(people_url(self.community, "people_roles"))
        return self.render_to_response(self.get_context_data(grant_form=form), status=400)


class RevokeView(AppointMixin, ConfirmView):
    @cached_property
    def account(self):
        return get_object_or_404(get_user_model(), pk=self.kwargs["user"])

    def holds(self) -> bool:
        return any(u.pk == self.account.pk for u in service.managers_by_permission(self.community))

    def trail(self):
        return super().trail() + [{"url": people_url(self.community, "people_roles"),
                                   "label": gettext("Roles overview")}]

    def get(self, request, *args, **kwargs):
        self.check_may_appoint()
        if not self.holds():
            raise Http404
        return super().get(request, *args, **kwargs)

    def question(self):
        return gettext("Stop %(account)s managing %(community)s?") % {"account": display_name(self.account),
                                                                       "community": self.community}

    def details(self):
        return [gettext("They lose the permission given by hand; an admin role they hold in community.yaml still "
                        "counts.")]

    def button(self):
        return gettext("Take the permission away")

    def back_url(self):
        return people_url(self.community, "people_roles")

    def post(self, request, *args, **kwargs):
        self.check_may_appoint()
        return super().post(request, *args, **kwargs)

    def act(self, reason):
        if not self.holds():  # taken away meanwhile
            messages.warning(self.request, gettext("%(account)s does not hold the permission (any more).")
                             % {"account": display_name(self.account)})
            return redirect(self.back_url())
        service.revoke_manage(self.community, actor=self.request.user, user=self.account, reason=reason)
        messages.success(self.request, gettext("%(account)s no longer manages %(community)s by permission.")
                         % {"account": display_name(self.account), "community": self.community})
        return redirect(self.back_url())


class ChangesView(PeopleView):
    """The community's change log, newest first; ?person=<id> for one person's."""

    template_name = "cms/admin/people_changes.html"

    def get_page_title(self):
        return gettext("Change log")

    @cached_property
    def person(self):
        pk = self.request.GET.get("person", "")
        if not pk:
            return None
        if not pk.isdigit():
            raise Http404
        return get_object_or_404(Person, community=self.community, pk=pk)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        changes = (PeopleChange.objects.filter(community=self.community).select_related("actor", "person")
                   .order_by("-created_at", "-pk"))
        if self.person is not None:
            changes = changes.filter(person=self.person)
        page, page_range = paginate(self.request, changes, CHANGES_PER_PAGE)
        rows = change_rows(page.object_list, self.words, mask=True)
        for row in rows:
            row.person_url = person_url(row.change.person) if row.change.person_id else ""
        context.update(page=page, elided_page_range=page_range, rows=rows, person=self.person,
                       person_page=person_url(self.person) if self.person else "")
        return context


COMMUNITY = r"^people/(?P<community>[-\w]+)/"
PERSON = COMMUNITY + r"(?P<person>[0-9]+)/"

urlpatterns = [
    re_path(COMMUNITY + r"$", PeopleListView.as_view(), name="people"),
    re_path(COMMUNITY + r"add/$", PersonFormView.as_view(), name="people_add"),
    re_path(COMMUNITY + r"roles/$", RolesView.as_view(), name="people_roles"),
    re_path(COMMUNITY + r"changes/$", ChangesView.as_view(), name="people_changes"),
    re_path(COMMUNITY + r"managers/grant/$", GrantView.as_view(), name="people_grant"),
    re_path(COMMUNITY + r"managers/(?P<user>[0-9]+)/revoke/$", RevokeView.as_view(), name="people_revoke"),
    re_path(PERSON + r"$", PersonView.as_view(), name="people_person"),
    re_path(PERSON + r"edit/$", PersonFormView.as_view(), name="people_edit"),
    re_path(PERSON + r"roles/$", GiveRoleView.as_view(), name="people_give"),
    re_path(PERSON + r"roles/(?P<assignment>[0-9]+)/take/$", TakeRoleView.as_view(), name="people_take"),
    re_path(PERSON + r"active/$", ActiveView.as_view(), name="people_active"),
    re_path(PERSON + r"invite/$", InviteView.as_view(), name="people_invite"),
    re_path(PERSON + r"account/$", LinkAccountView.as_view(), name="people_link"),
]
