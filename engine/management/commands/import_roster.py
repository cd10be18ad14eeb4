"""python manage.py import_roster COMMUNITY FILE [--commit] — dry run by default."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from engine.models import Community
from engine.services.roster import check, import_roster


class Command(BaseCommand):
    help = "Check (and with --commit, import) a roster from CSV or Excel. Lists every bad row; all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("community")
        parser.add_argument("file")
        parser.add_argument("--commit", action="store_true", help="Import when every row is good.")

    def handle(self, *args, community, file, commit=False, **options):
        record = Community.objects.filter(slug=community).first()
        if record is None:
            raise CommandError(f"no such community: {community}")
        path = Path(file)
        content = path.read_bytes()
        if commit:
            written, problems = import_roster(record, path.name, content)
        else:
            rows, problems = check(record, path.name, content)
            written = 0
        for problem in problems:
            self.stdout.write(f"{path}:{problem}")
        if problems:
            self.stderr.write(f"{len(problems)} problem(s); nothing imported")
            sys.exit(1)
        self.stdout.write(f"imported {written} people" if commit else f"{len(rows)} rows OK (dry run; add --commit)")
