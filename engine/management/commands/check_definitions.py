"""python manage.py check_definitions [PATH ...] — run the three gates; print PATH:LINE:COL: message.

When the files are valid and a database is at hand, it also warns (on stderr, exit code 0) where
a role the checked flows need is vacant (engine.services.vacancies)."""

from django.conf import settings
import sys

from django.core.management.base import BaseCommand
from django.utils import translation

from engine.definitions.pipeline import check_paths
from engine.services import vacancies


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
        # Valid. With a database at hand, warn (on stderr; the exit code stays 0) where a role the
        # flows checked need is vacant: their items would go to a stand-in there.
        flows = {}
        for definition in result.definitions:
            if definition.kind == "flow" and definition.publishable:
                flows.setdefault(definition.community, []).append((definition.key, definition.data))
        if flows:
            for line in vacancies.warnings_for(flows, flows, language):
                self.stderr.write(line, self.style.WARNING)
        if options["verbosity"] > 1:
            self.stderr.write(f"{len(result.definitions)} definition(s) OK")
