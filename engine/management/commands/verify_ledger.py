"""python manage.py verify_ledger [COMMUNITY ...] — check every community's points chain."""

import sys

from django.core.management.base import BaseCommand

from engine.models import Community
from engine.services.points import verify_ledger


class Command(BaseCommand):
    help = "Verify the hash chain of the points ledger; report the first broken link. Exit 1 if any."

    def add_arguments(self, parser):
        parser.add_argument("communities", nargs="*", help="Community identifiers (default: all).")

    def handle(self, *args, communities=(), **options):
        queryset = Community.objects.order_by("slug")
        if communities:
            queryset = queryset.filter(slug__in=communities)
            missing = set(communities) - set(queryset.values_list("slug", flat=True))
            for slug in sorted(missing):
                self.stdout.write(f"{slug}: no such community")
        else:
            missing = set()
        broken = bool(missing)
        for community in queryset:
            result = verify_ledger(community)
            if result is None:
                self.stdout.write(f"{community.slug}: ok ({community.ledger.count()} entries)")
            else:
                broken = True
                sequence, why = result
                self.stdout.write(f"{community.slug}: broken at entry {sequence}: {why}")
        if broken:
            sys.exit(1)
