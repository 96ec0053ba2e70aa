from django.db import migrations

from marketplace.reference_data import scenarios_seed


def seed(apps, schema_editor):
    scenarios_seed(apps.get_model("marketplace", "Scenario"))


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0002_certificate_sequence")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
