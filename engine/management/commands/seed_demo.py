"""python manage.py seed_demo — the demo accounts; safe to run again (it resets their passwords)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from engine.demo import DEMO_PASSWORD, PERSONAS
from engine.models import Community

STAFF_GROUP = "Linli staff"


class Command(BaseCommand):
    help = "Create the superuser 'admin' and a secretary, grid leader, member and resident per community."

    def handle(self, *args, **options):
        if not Community.objects.filter(kind=Community.Kind.COMMUNITY).exists():
            call_command("load_definitions", stdout=self.stdout)
        User = get_user_model()
        with transaction.atomic():
            staff = self.staff_group()
            admin, _ = User.objects.get_or_create(username="admin", defaults={"email": "admin@example.invalid"})
            admin.is_staff = admin.is_superuser = True
            admin.set_password(DEMO_PASSWORD)
            admin.save()
            rows = [("admin", "superuser", "-")]
            for community in Community.objects.filter(kind=Community.Kind.COMMUNITY).order_by("slug"):
                for suffix, title_zh, title_en, is_staff in PERSONAS:
                    username = f"{community.slug}-{suffix}"
                    user, _ = User.objects.get_or_create(username=username)
                    user.first_name = f"{community.name}{title_zh}"[:150]
                    user.is_staff = is_staff
                    user.set_password(DEMO_PASSWORD)
                    user.save()
                    if is_staff:
                        user.groups.add(staff)
                    self.place(community, user, suffix)
                    rows.append((username, title_en, community.slug))
            self.form_pages()
        from cms.demo import seed_public_site

        seed_public_site(self.stdout)
        width = max(len(r[0]) for r in rows)
        self.stdout.write(f"Demo accounts (password: {DEMO_PASSWORD}):")
        for username, title, slug in rows:
            self.stdout.write(f"  {username.ljust(width)}  {title} ({slug})" if slug != "-" else f"  {username.ljust(width)}  {title}")

    def place(self, community, user, suffix):
        """Give the demo person a role at a fitting unit of the community's own tree."""
        from engine.models import Definition, OrgUnit, Person, RoleAssignment

        data = Definition.objects.get(community=community, kind="community").live_version.data
        roles = data["roles"]
        wanted = {
            "secretary": next((r for r in roles if r.get("admin")), None),
            "grid-leader": next((r for r in roles if r["key"] == "grid_leader"),
                                next((r for r in roles if r.get("staff") and r.get("level")), None)),
            "member": next((r for r in roles if r["key"] == "member"), None),
            "resident": next((r for r in roles if r["key"] == "resident"), None),
        }[suffix]
        units = OrgUnit.objects.filter(community=community, active=True).order_by("path")
        unit = (units.filter(level=wanted["level"]).first() if wanted and wanted.get("level") else units.first())
        person, _ = Person.objects.update_or_create(community=community, user=user,
                                                    defaults={"name": user.first_name, "unit": unit,
                                                              "is_member": suffix in ("secretary", "member")})
        if wanted and unit is not None:
            RoleAssignment.objects.get_or_create(community=community, person=person, role=wanted["key"], unit=unit)

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
