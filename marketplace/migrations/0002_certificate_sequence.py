from django.db import migrations


class Migration(migrations.Migration):
    """Certificate numbers come from a PostgreSQL sequence: unique and gap-tolerant under
    concurrent certification, with no lock held across reviews."""

    dependencies = [("marketplace", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE marketplace_certificate_seq START 1",
            "DROP SEQUENCE marketplace_certificate_seq",
        )
    ]
