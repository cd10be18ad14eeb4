"""python manage.py fire_timers — take every due timer transition (run it every minute from cron
or a systemd timer beside the worker; each timer fires once however often this runs)."""

from django.core.management.base import BaseCommand

from engine.workflow.adapter import fire_due_timers


class Command(BaseCommand):
    help = "Fire due flow timers (escalations, notice windows, vote closings)."

    def handle(self, *args, **options):
        self.stdout.write(f"fired {fire_due_timers()} timer(s)")
