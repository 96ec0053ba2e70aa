"""Escalation policies get an opaque public id (authorities edit them by URL and API).

Existing rows need one id each: a callable default on AddField is evaluated once for the
whole table, so the column is added nullable and not unique, every row is given its own
uuid4, and only then is it made unique and required (Django's documented pattern)."""

import uuid

from django.db import migrations, models


def give_each_policy_an_id(apps, schema_editor):
    EscalationPolicy = apps.get_model("alerts", "EscalationPolicy")
    policies = list(EscalationPolicy.objects.filter(public_id__isnull=True).only("pk"))
    for policy in policies:
        policy.public_id = uuid.uuid4()
    EscalationPolicy.objects.bulk_update(policies, ["public_id"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="escalationpolicy",
            name="public_id",
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.RunPython(give_each_policy_an_id, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="escalationpolicy",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
