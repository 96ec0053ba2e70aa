"""Thin Celery tasks for alerts, all on the `alerts` queue (config/settings.py routes
`alerts.*`), so life-safety work never waits behind bulk work. Every pass is safe to run
twice at once: work is claimed with conditional UPDATEs or SKIP LOCKED."""

from celery import shared_task


@shared_task
def events_process() -> int:
    """Woken by ingest after commit, and by beat every few seconds in case a wake-up is lost."""
    from alerts.services.processing import events_process as process

    return process()


@shared_task
def thresholds_evaluate() -> int:
    from alerts.services.processing import thresholds_evaluate as evaluate

    return evaluate()


@shared_task
def escalations_run() -> int:
    from alerts.services.escalation import escalations_run as run

    return run()


@shared_task
def health_sweep() -> dict:
    from alerts.services.sweeps import health_sweep as sweep

    return sweep()


@shared_task
def notifications_send(notification_ids: list[int]) -> None:
    """Written in the transaction that raised or escalated an alert; queued after commit.
    A lost or killed run is redelivered (acks late) or picked up by `notifications_retry`."""
    from alerts.services.delivery import notifications_send as send

    send(notification_ids=notification_ids)


@shared_task
def notifications_retry() -> int:
    from alerts.services.delivery import notifications_retry_due

    return notifications_retry_due()
