"""The reference number becomes a generated column: the stem (prefix and date) is stored, the
database appends the row's id. Existing numbers keep their value."""

import django.db.models.functions.text
from django.db import migrations, models

import engine.models.submissions


def split_references(apps, schema_editor):
    Submission = apps.get_model("engine", "Submission")
    for submission in Submission.objects.exclude(reference=None).only("pk", "reference").iterator():
        digits = f"{submission.pk:06d}"
        stem = submission.reference[: -len(digits)] if submission.reference.endswith(digits) else submission.reference
        Submission.objects.filter(pk=submission.pk).update(reference_stem=stem)


class Migration(migrations.Migration):
    dependencies = [("engine", "0009_inbox_index")]

    operations = [
        migrations.AddField(
            model_name="submission", name="reference_stem",
            field=models.CharField(default="", editable=False, max_length=24, verbose_name="reference prefix and date"),
            preserve_default=False,
        ),
        migrations.RunPython(split_references, migrations.RunPython.noop),
        migrations.RemoveField(model_name="submission", name="reference"),
        migrations.AddField(
            model_name="submission", name="reference",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Concat(
                    models.F("reference_stem"), engine.models.submissions.PaddedId()),
                output_field=models.CharField(max_length=32), unique=True, verbose_name="reference number"),
        ),
    ]
