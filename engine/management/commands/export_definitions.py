"""python manage.py export_definitions OUT [--community SLUG ...] — write the live definitions
back to files, in the layout load_definitions reads (forms_schemas/, workflows_yaml/), so a
community can keep them in git and load them again. Each file is the text that was published,
comments included; the shared definitions are those frozen into the live forms."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from engine.models import Community, Definition

FOLDERS = {"form": "forms_schemas", "flow": "workflows_yaml", "community": "workflows_yaml"}
SUFFIXES = {"form": ".schema.json", "flow": ".flow.yaml", "community": ".yaml"}


class Command(BaseCommand):
    help = "Write the live definitions (all communities, or those named) to files under OUT."

    def add_arguments(self, parser):
        parser.add_argument("out", help="folder to write forms_schemas/ and workflows_yaml/ into")
        parser.add_argument("--community", action="append", default=[], help="only this community (repeatable)")

    def handle(self, *args, out, community, **options):
        out = Path(out)
        communities = Community.objects.order_by("slug")
        if community:
            missing = sorted(set(community) - set(communities.filter(slug__in=community).values_list("slug", flat=True)))
            if missing:
                raise CommandError(f"--community: no community {', '.join(missing)}")
            communities = communities.filter(slug__in=community)
        shared, written = {}, 0
        records = (Definition.objects.filter(community__in=communities, live_version__isnull=False)
                   .select_related("community", "live_version").order_by("community__slug", "kind", "key"))
        for record in records:
            version = record.live_version
            name = "community.yaml" if record.kind == "community" else f"{record.key}{SUFFIXES[record.kind]}"
            path = out / FOLDERS[record.kind] / record.community.slug / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(version.source, encoding="utf-8")
            written += 1
            for filename, document in (version.content.get("shared") or {}).items():
                if shared.setdefault(filename, document) != document:
                    raise CommandError(f"forms use different versions of _shared/{filename}: publish the "
                                       "forms again with one version before exporting")
        for filename, document in shared.items():
            path = out / "forms_schemas" / "_shared" / filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        self.stdout.write(f"exported {written} definitions of {communities.count()} communities to {out}")
