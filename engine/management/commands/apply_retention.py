"""python manage.py apply_retention — take personal data out of closed items older than each
community's privacy.retention_days (run daily, next to fire_timers and draw_honour_rolls)."""

from django.core.management.base import BaseCommand

from engine.models import Community
from engine.services.retention import apply_retention, due_for_redaction


class Command(BaseCommand):
    help = "Remove personal data from closed items older than the community's retention period."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only count what would be redacted")

    def handle(self, *args, dry_run=False, **options):
        for community in Community.objects.filter(kind=Community.Kind.COMMUNITY).order_by("slug"):
            if dry_run:
                self.stdout.write(f"{community.slug}: {due_for_redaction(community).count()} items would be redacted")
            else:
                self.stdout.write(f"{community.slug}: {apply_retention(community)} items redacted")
