"""python manage.py load_definitions [PATH ...] — check, then publish what changed, all or nothing;
then warn (on stderr) where a role the communities' live flows need is vacant."""

import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import translation

from engine.definitions.pipeline import check_paths
from engine.definitions.problems import DefinitionError
from engine.definitions.publishing import publish_definitions
from engine.models import Community
from engine.services import vacancies


class Command(BaseCommand):
    help = "Validate definitions, then publish new versions of those that changed (one transaction)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", help="Files or folders (default: forms_schemas/ and workflows_yaml/).")
        parser.add_argument("--language", help="zh-hans or en (default: the active language).")
        parser.add_argument("--note", default="", help="A note stored with every version published.")

    def handle(self, *args, paths=(), language=None, note="", **options):
        language = language or translation.get_language() or settings.LANGUAGE_CODE
        known = frozenset(Community.objects.values_list("slug", flat=True))
        result = check_paths(paths, settings.LINLI_FORMS_DIR, settings.LINLI_WORKFLOWS_DIR, known_communities=known,
                             whole_folders=True)
        problems = result.problems
        if not problems:
            try:
                report = publish_definitions(result.definitions, note=note)
            except DefinitionError as error:
                problems = error.problems
        if problems:
            for problem in problems:
                self.stdout.write(problem.render(language))
            self.stderr.write("nothing published" if language.startswith("en") else "未发布任何内容")
            sys.exit(1)
        for version in report.published:
            d = version.definition
            self.stdout.write(f"published {d.community.slug}/{d.key} ({d.kind}) v{version.number}")
        if not report.published:
            self.stdout.write(f"nothing changed ({len(report.unchanged)} definitions up to date)")
        # Where a role the live flows of these communities need is vacant, their items go to a
        # stand-in: say so (on stderr; nothing was refused).
        touched = {d.community for d in result.definitions if d.publishable}
        for line in vacancies.warnings_for(touched, language=language):
            self.stderr.write(line, self.style.WARNING)
