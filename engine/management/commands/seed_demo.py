"""python manage.py seed_demo — the demo accounts; safe to run again (it writes only what differs
from what the demo wants, and so changes nothing the second time; a demo password someone changed
is set back to linli-demo).

Per example community: a secretary, a grid leader, a member and a resident (contract), and one
account per role that a live flow of the community names (engine.demo.roles_named), held at the
demo resident's own units, so that every step of every shipped flow has a demo account to take it.
Every demo person has a mobile number of their own (engine.demo.demo_phone) for phone sign-in.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from engine.demo import (DEMO_PASSWORD, PERSONAS, persona_phone, role_phones, role_unit, role_username,
                         roles_named)
from engine.models import Community

STAFF_GROUP = "Linli staff"


class Command(BaseCommand):
    help = ("Create the superuser 'admin' and, per community, a secretary, grid leader, member and resident, "
            "and one account for each role its flows name.")

    def handle(self, *args, **options):
        if not Community.objects.filter(kind=Community.Kind.COMMUNITY).exists():
            call_command("load_definitions", stdout=self.stdout)
        User = get_user_model()
        with transaction.atomic():
            staff = self.staff_group()
            admin, _ = User.objects.get_or_create(username="admin", defaults={"email": "admin@example.invalid"})
            self.account(admin, first_name=admin.first_name, is_staff=True, is_superuser=True)
            rows = [("admin", "superuser", "", "")]
            communities = Community.objects.filter(kind=Community.Kind.COMMUNITY).order_by("slug")
            for number, community in enumerate(communities, 1):
                rows.extend(self.seed_community(community, number, staff))
            self.form_pages()
        from cms.demo import seed_public_site

        seed_public_site(self.stdout)
        width = max(len(r[0]) for r in rows)
        self.stdout.write(f"Demo accounts (password: {DEMO_PASSWORD}):")
        for username, title, slug, phone in rows:
            where = f" ({slug})" if slug else ""
            self.stdout.write(f"  {username.ljust(width)}  {phone.ljust(11)}  {title}{where}".rstrip())

    # ------------------------------------------------------------ one community

    def seed_community(self, community, number, staff):
        from engine.models import Definition, OrgUnit
        from engine.workflow.adapter import compiled

        data = Definition.objects.get(community=community, kind="community").live_version.data
        roles = {role["key"]: role for role in data.get("roles", [])}
        units = OrgUnit.objects.filter(community=community, active=True).order_by("path")
        root = units.filter(depth=1).first()
        resident_role = roles.get("resident")
        home = (units.filter(level=resident_role["level"]).first()
                if resident_role and resident_role.get("level") else None) or root
        chain = [home, *list(home.get_ancestors())[::-1]] if home is not None else []  # nearest first
        User = get_user_model()
        rows, persona_names = [], set()

        def place(role):
            unit = role_unit(role, chain, root)
            if unit is None and role.get("level"):  # a level below the resident's own unit
                unit = (units.filter(level=role["level"], path__startswith=home.path).first()
                        or units.filter(level=role["level"]).first())
            return unit

        for suffix, title_zh, title_en, is_staff in PERSONAS:
            username = f"{community.slug}-{suffix}"
            persona_names.add(username)
            user, _ = User.objects.get_or_create(username=username)
            self.account(user, first_name=f"{community.name}{title_zh}"[:150], is_staff=is_staff)
            if is_staff:
                user.groups.add(staff)
            role = self.persona_role(suffix, roles)
            unit = place(role) if role else root
            person = self.person(community, user, unit=unit, phone=persona_phone(number, suffix),
                                 is_member=suffix in ("secretary", "member"))
            if role and unit is not None:
                self.hold(community, person, role, unit)
            rows.append((username, title_en, community.slug, person.phone))

        named = set()
        for record in Definition.objects.filter(community=community, kind="flow",
                                                live_version__isnull=False).select_related("live_version"):
            named |= roles_named(compiled(record.live_version))
        named &= set(roles)  # the linter lets no flow name a role the community lacks
        phones = role_phones(number, named)
        for key in sorted(named):
            role = roles[key]
            unit = place(role)
            if unit is None:
                raise CommandError(f"{community.slug}: no unit at level {role.get('level')!r} for role {key!r}")
            username = role_username(community.slug, key)
            title = role.get("title", key)
            title = title if isinstance(title, str) else title.get("zh-hans", key)
            user, _ = User.objects.get_or_create(username=username)
            if username in persona_names:
                # the contract's account already has this name: it holds the role (at the resident's units) too
                person = self.person_of(community, user)
                self.hold(community, person, role, unit)
                continue
            self.account(user, first_name=f"{community.name}{title}"[:150], is_staff=bool(role.get("staff")))
            if role.get("staff"):
                user.groups.add(staff)
            person = self.person(community, user, unit=unit, phone=phones[key], is_member=False)
            self.hold(community, person, role, unit)
            rows.append((username, key, community.slug, person.phone))
        return rows

    @staticmethod
    def persona_role(suffix, roles):
        """The role of one of the four contract people, from the community's own roles."""
        listed = list(roles.values())
        return {
            "secretary": next((r for r in listed if r.get("admin")), None),
            "grid-leader": roles.get("grid_leader") or next((r for r in listed if r.get("staff") and r.get("level")),
                                                            None),
            "member": roles.get("member"),
            "resident": roles.get("resident"),
        }[suffix]

    # ------------------------------------------------------------ writes, only where something differs

    @staticmethod
    def account(user, *, first_name, is_staff, is_superuser=False):
        changed = False
        for field, value in (("first_name", first_name), ("is_staff", is_staff), ("is_superuser", is_superuser),
                             ("is_active", True)):
            if getattr(user, field) != value:
                setattr(user, field, value)
                changed = True
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            changed = True
        if changed:
            user.save()

    @staticmethod
    def person_of(community, user):
        from engine.models import Person

        return Person.objects.get(community=community, user=user)

    @staticmethod
    def person(community, user, *, unit, phone, is_member):
        """The demo person of `user` in `community`, with this number (which must be nobody else's)."""
        from engine.models import Person

        person = Person.objects.filter(community=community, user=user).first()
        other = Person.objects.filter(phone=phone, active=True)
        if person is not None:
            other = other.exclude(pk=person.pk)
        other = other.select_related("community").first()
        if other is not None:
            raise CommandError(f"{phone} is already the number of {other.name} ({other.community.slug}, "
                               f"person {other.pk}); the demo account {user.username} needs it. Nothing was changed.")
        wanted = {"name": user.first_name[:100], "unit": unit, "phone": phone, "is_member": is_member, "active": True}
        if person is None:
            return Person.objects.create(community=community, user=user, **wanted)
        changed = [field for field, value in wanted.items() if getattr(person, field) != value]
        if changed:
            for field in changed:
                setattr(person, field, wanted[field])
            person.save(update_fields=changed)
        return person

    @staticmethod
    def hold(community, person, role, unit):
        """The person holds `role` at `unit` (in the role's organisation), in force today."""
        from engine.models import RoleAssignment

        assignment, _ = RoleAssignment.objects.get_or_create(community=community, person=person, role=role["key"],
                                                             unit=unit, organisation=role.get("organisation", ""))
        today = timezone.localdate()
        ended = assignment.until is not None and assignment.until < today
        not_begun = assignment.since is not None and assignment.since > today
        if ended or not_begun:
            assignment.since = None if not_begun else assignment.since
            assignment.until = None if ended else assignment.until
            assignment.save(update_fields=["since", "until"])
        return assignment

    def form_pages(self):
        """A published form page for each example form, under the home page (once)."""
        from cms.models import HomePage, LinliFormPage
        from engine.models import Definition

        home = HomePage.objects.first()
        if home is None:
            return
        for form in Definition.objects.filter(kind="form", community__kind="community").select_related(
                "community", "live_version").order_by("community__slug", "key"):
            slug = f"{form.community.slug}-{form.key}"
            if LinliFormPage.objects.filter(slug=slug).exists() or form.live_version is None:
                continue
            title = form.live_version.data.get("title", form.key)
            home.add_child(instance=LinliFormPage(title=title if isinstance(title, str) else title.get("zh-hans", form.key),
                                                  slug=slug, form=form))

    def staff_group(self):
        group, _ = Group.objects.get_or_create(name=STAFF_GROUP)
        access = Permission.objects.filter(content_type__app_label="wagtailadmin", codename="access_admin")
        group.permissions.add(*access)
        return group
