"""Prints where to sign in to the demo and with which account (make demo calls it)."""

from django.core.management.base import BaseCommand

from engine.demo import DEMO_PASSWORD, demo_usernames
from engine.models import Community


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
        self.stdout.write(f"  Wagtail admin: {base}/admin/   (sign in as admin / {DEMO_PASSWORD})")
        self.stdout.write(f"  Django admin:  {base}/django-admin/")
        self.stdout.write(f"  Staff inbox:   {base}/inbox/   ·  a resident's submissions: {base}/my/")
        self.stdout.write(f"  API:           {base}/api/v1/schema/")
        for community in Community.objects.filter(kind=Community.Kind.COMMUNITY).order_by("slug"):
            self.stdout.write(f"  {community.name} ({community.slug}): {', '.join(demo_usernames(community.slug))}")
        self.stdout.write(f"  Every demo account's password is {DEMO_PASSWORD}. Stop with Ctrl-C.")
        self.stdout.write("")
