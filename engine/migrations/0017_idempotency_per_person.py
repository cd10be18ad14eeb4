"""Idempotency keys are per person (issue #17): a signed-in person's key is now stored as
`u:<user id>:<key>` (engine.services.submissions.scoped_key). Keys stored before keep answering
their own retries: each signed-in submitter's key is rewritten to that form. No schema change —
the unique constraint on (community, idempotency_key) then holds per person. Anonymous keys
(s:, t:, x:) were already scoped and are left as they are."""

import hashlib

from django.db import migrations

KEY_LENGTH = 64


def _scoped(scope, key):  # a copy of scoped_key as it was written: migrations do not follow the code
    stored = f"{scope}:{key}"
    if len(stored) <= KEY_LENGTH:
        return stored
    return f"{scope}:#{hashlib.sha256(key.encode('utf-8')).hexdigest()}"[:KEY_LENGTH]


def per_person(apps, schema_editor):
    Submission = apps.get_model("engine", "Submission")
    rows = (Submission.objects.exclude(idempotency_key="").filter(submitter__isnull=False)
            .values_list("pk", "submitter_id", "idempotency_key"))
    for pk, submitter, key in rows.iterator():
        Submission.objects.filter(pk=pk).update(idempotency_key=_scoped(f"u:{submitter}", key))


class Migration(migrations.Migration):

    dependencies = [
        ("engine", "0016_flow_stalled"),
    ]

    operations = [
        migrations.RunPython(per_person, migrations.RunPython.noop),
    ]
