"""Thin Celery tasks for devices."""

from celery import shared_task


@shared_task
def telemetry_partitions_maintain() -> dict:
    from devices import telemetry

    created = telemetry.partitions_ensure()
    dropped = telemetry.partitions_drop_expired()
    return {"created": len(created), "dropped": len(dropped)}


@shared_task(bind=True, max_retries=8)
def monitoring_sync(self, unit_id: int) -> None:
    """After a device activates, retires or is returned (billing talks to Stripe)."""
    from billing import gateway
    from devices.services import monitoring_sync as sync
    from units.models import Unit

    try:
        sync(unit=Unit.objects.get(pk=unit_id))
    except gateway.GatewayError as exc:
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc


# Vendor inventory


@shared_task(soft_time_limit=30 * 60, time_limit=31 * 60)
def inventory_import_run(import_id: int) -> None:
    """A vendor's CSV of serial numbers, chunk by chunk (20,000 rows take seconds; the
    limits only bound a file at the 100,000-row maximum on a busy machine)."""
    from devices.imports import inventory_import_run as run

    run(inventory_import_id=import_id)
