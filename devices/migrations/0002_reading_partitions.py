from django.db import migrations

from devices import telemetry


def create_partitions(apps, schema_editor):
    telemetry.partitions_ensure()


class Migration(migrations.Migration):
    dependencies = [("devices", "0001_initial")]

    operations = [
        # Heartbeats and readings, partitioned by day. The key includes the partition column,
        # so a retried event (same device, id and timestamp) is stored once.
        migrations.RunSQL(
            """
            CREATE TABLE devices_reading (
                device_id bigint NOT NULL,
                event_id varchar(64) NOT NULL,
                ts timestamptz NOT NULL,
                kind varchar(9) NOT NULL,
                "values" jsonb NOT NULL,
                received_at timestamptz NOT NULL,
                PRIMARY KEY (device_id, event_id, ts)
            ) PARTITION BY RANGE (ts);
            CREATE INDEX devices_reading_device_ts ON devices_reading (device_id, ts DESC);
            """,
            reverse_sql="DROP TABLE devices_reading;",
        ),
        migrations.RunPython(create_partitions, migrations.RunPython.noop),
    ]
