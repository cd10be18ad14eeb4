"""A form points at the live flow that handles it (kept by publishing)."""

import django.db.models.deletion
from django.db import migrations, models


def link(apps, schema_editor):
    Definition = apps.get_model("engine", "Definition")
    handler = {}
    for flow in (Definition.objects.filter(kind="flow", live_version__isnull=False)
                 .select_related("live_version").order_by("pk")):
        handler.setdefault((flow.community_id, flow.live_version.content["definition"].get("form")), flow.pk)
    for form in Definition.objects.filter(kind="form"):
        flow_id = handler.get((form.community_id, form.key))
        if flow_id:
            Definition.objects.filter(pk=form.pk).update(flow_id=flow_id)


class Migration(migrations.Migration):
    dependencies = [("engine", "0010_submission_reference_generated")]

    operations = [
        migrations.AddField(
            model_name="definition", name="flow",
            field=models.ForeignKey(blank=True, editable=False, limit_choices_to={"kind": "flow"}, null=True,
                                    on_delete=django.db.models.deletion.SET_NULL, related_name="handled_forms",
                                    to="engine.definition", verbose_name="flow"),
        ),
        migrations.RunPython(link, migrations.RunPython.noop),
    ]
