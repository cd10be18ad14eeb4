"""python manage.py fire_timers — take every due timer transition (run it every minute from cron
or a systemd timer beside the worker; each timer fires once however often this runs).

`--at "2026-10-08 10:01"` acts as if it were that local time (for simulations and tests): the
time is read on the wall clock of `--community`'s zone (its community.yaml `timezone:`), or
settings.TIME_ZONE; the timers due by then fire, and what they set off is scheduled from it.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from engine import clock
from engine.models import Community
from engine.workflow.adapter import fire_due_timers


class Command(BaseCommand):
    help = "Fire due flow timers (escalations, notice windows, vote closings)."

    def add_arguments(self, parser):
        parser.add_argument("--at", metavar="'YYYY-MM-DD HH:MM'",
                            help="act as if it were this local time (simulations and tests)")
        parser.add_argument("--community", metavar="SLUG",
                            help="read --at on this community's clock (default: settings.TIME_ZONE)")

    def handle(self, *args, **options):
        moment = None
        if options.get("community") and not options.get("at"):
            raise CommandError(_("--community only says which clock --at is read on; give --at too"))
        if options.get("at"):
            zone = clock.default_tz()
            if options.get("community"):
                community = Community.objects.filter(slug=options["community"]).first()
                if community is None:
                    raise CommandError(_("--community: no community %(slug)s") % {"slug": options["community"]})
                zone = clock.community_tz(community)
            try:
                moment = clock.parse_local(options["at"], zone)
            except ValueError:
                raise CommandError(_("--at: %(value)s is not a date and time; write it as YYYY-MM-DD HH:MM")
                                   % {"value": options["at"]}) from None
        self.stdout.write(f"fired {fire_due_timers(moment)} timer(s)")
