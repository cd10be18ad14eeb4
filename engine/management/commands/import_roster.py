"""python manage.py import_roster COMMUNITY FILE [--commit] [--by USERNAME] — dry run by default."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from engine.models import Community
from engine.services.roster import check, import_roster_summary


class Command(BaseCommand):
    help = "Check (and with --commit, import) a roster from CSV or Excel. Lists every bad row; all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("community")
        parser.add_argument("file")
        parser.add_argument("--commit", action="store_true", help="Import when every row is good.")
        parser.add_argument("--by", default="", help="The account recorded as having made the import.")

    def handle(self, *args, community, file, commit=False, by="", **options):
        record = Community.objects.filter(slug=community).first()
        if record is None:
            raise CommandError(f"no such community: {community}")
        path = Path(file)
        content = path.read_bytes()
        actor = None
        if by:
            from django.contrib.auth import get_user_model

            actor = get_user_model().objects.filter(username=by).first()
            if actor is None:
                raise CommandError(f"no such account: {by}")
        if commit:
            summary, problems = import_roster_summary(record, path.name, content, actor=actor)
        else:
            rows, problems = check(record, path.name, content)
        for problem in problems:
            self.stdout.write(f"{path}:{problem}")
        if problems:
            self.stderr.write(f"{len(problems)} problem(s); nothing imported")
            sys.exit(1)
        if commit:
            self.stdout.write(f"imported {summary.rows} rows: {summary.created} people added, {summary.updated} updated, "
                              f"{summary.roles} roles given, {summary.invited} invited"
                              + ("" if summary.changed else " (nothing changed)"))
        else:
            self.stdout.write(f"{len(rows)} rows OK (dry run; add --commit)")
