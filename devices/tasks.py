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
