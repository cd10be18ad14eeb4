"""python manage.py draw_honour_rolls — draft each honour roll drawn from points for the period
that has just ended (run daily by cron next to fire_timers; a roll already drawn is left alone)."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from engine.models import Community


class Command(BaseCommand):
    help = "Draft the honour rolls drawn from points for the last finished period of each community."

    def add_arguments(self, parser):
        parser.add_argument("--community", help="only this community (slug)")
        parser.add_argument("--day", help="as if today were this day (YYYY-MM-DD)")

    def handle(self, *args, community=None, day=None, **options):
        from cms.generate import draw_roll_from_points
        from engine.services.honours import community_data

        try:
            day = datetime.date.fromisoformat(day) if day else None
        except ValueError:
            raise CommandError(f"--day: {day!r} is not a date such as 2026-10-01") from None
        communities = Community.objects.filter(kind=Community.Kind.COMMUNITY).order_by("slug")
        if community:
            communities = communities.filter(slug=community)
            if not communities.exists():
                raise CommandError(f"--community: no community {community!r}")
        for each in communities:
            for roll in community_data(each).get("honour_rolls", []):
                if "points" not in roll["source"]:
                    continue  # rolls from a selection flow grow as the flow publishes them
                page, created = draw_roll_from_points(each, roll["key"], day=day)
                state = "live" if page.live else "in moderation"
                verb = "drafted" if created else "already drawn"
                self.stdout.write(f"{each.slug}/{roll['key']} {page.period}: {verb} ({page.entries.count()} people, {state})")
