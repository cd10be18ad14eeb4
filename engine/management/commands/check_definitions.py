"""python manage.py check_definitions [PATH ...] — run the three gates; print PATH:LINE:COL: message."""

from django.conf import settings
import sys

from django.core.management.base import BaseCommand
from django.utils import translation

from engine.definitions.pipeline import check_paths


class Command(BaseCommand):
    help = "Check community, form and flow definitions (parse, meta-validate, lint). Exit 1 on any problem."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", help="Files or folders (default: forms_schemas/ and workflows_yaml/).")
        parser.add_argument("--language", help="zh-hans or en (default: the active language).")

    def handle(self, *args, paths=(), language=None, **options):
        language = language or translation.get_language() or settings.LANGUAGE_CODE
        result = check_paths(paths, settings.LINLI_FORMS_DIR, settings.LINLI_WORKFLOWS_DIR)
        for problem in result.problems:
            self.stdout.write(problem.render(language))
        if result.problems:
            sys.exit(1)  # the contract: exit 1, and nothing on stdout but one line per problem
        if options["verbosity"] > 1:
            self.stderr.write(f"{len(result.definitions)} definition(s) OK")
