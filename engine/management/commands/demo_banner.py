"""Prints where to sign in to the demo and with which account (make demo calls it)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from engine.demo import DEMO_PASSWORD, demo_usernames, role_username, roles_named
from engine.models import Community, Definition


class Command(BaseCommand):
    help = "Print the demo's addresses and accounts."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, host, port, **options):
        base = f"http://{host}:{port}"
        self.stdout.write("")
        self.stdout.write("邻里 Linli is starting.")
        self.stdout.write(f"  Site:          {base}/")
        self.stdout.write(f"  Sign in:       {base}/login/   (mobile number and code, or username and password)")
        self.stdout.write(f"  Wagtail admin: {base}/admin/   (sign in as admin / {DEMO_PASSWORD})")
        self.stdout.write(f"  Django admin:  {base}/django-admin/")
        self.stdout.write(f"  Staff inbox:   {base}/inbox/   ·  a resident's submissions: {base}/my/")
        self.stdout.write(f"  API:           {base}/api/v1/schema/")
        for community in Community.objects.filter(kind=Community.Kind.COMMUNITY).order_by("slug"):
            self.stdout.write(f"  {community.name} ({community.slug}): {', '.join(demo_usernames(community.slug))}")
            roles = self.role_accounts(community)
            if roles:
                self.stdout.write(f"    one per role its flows name: {', '.join(roles)}")
        self.stdout.write(f"  Every demo account's password is {DEMO_PASSWORD}; each also has a mobile number of "
                          "its own (README.md lists them).")
        self.stdout.write("  Signing in by phone, the code is printed by the server (SMS_BACKEND=console). "
                          "Stop with Ctrl-C.")
        self.stdout.write("")

    @staticmethod
    def role_accounts(community):
        """The role accounts seed_demo made for the community (those not among the four above)."""
        from engine.workflow.adapter import compiled

        named = set()
        for record in Definition.objects.filter(community=community, kind="flow",
                                                live_version__isnull=False).select_related("live_version"):
            named |= roles_named(compiled(record.live_version))
        wanted = sorted({role_username(community.slug, key) for key in named} - set(demo_usernames(community.slug)))
        present = set(get_user_model().objects.filter(username__in=wanted).values_list("username", flat=True))
        return [name for name in wanted if name in present]
