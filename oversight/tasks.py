"""Thin Celery tasks for oversight (the `default` queue): the coverage refresh (beat, every
five minutes), the daily programme reminders, and the e-mails those reminders queue after
their commit. Ids in, services called; e-mail failures retry with backoff."""

from celery import shared_task


def _retry(task, exc):
    return task.retry(exc=exc, countdown=30 * 2**task.request.retries)


@shared_task
def coverage_refresh() -> dict:
    from oversight.coverage import coverage_refresh as refresh

    return refresh()


@shared_task
def coverage_refresh_unit(unit_id: int) -> dict:
    from oversight.coverage import coverage_refresh_unit as refresh_unit
    from units.models import Unit

    return refresh_unit(unit=Unit.objects.get(pk=unit_id))


@shared_task
def programmes_remind() -> dict:
    from oversight.services import programmes_remind as remind

    return remind()


@shared_task(bind=True, max_retries=5)
def programme_reminders_send(self, programme_id: int, kind: str, unit_ids: list[int]) -> int:
    from oversight.services import programme_reminders_send as send

    try:
        return send(programme_id=programme_id, kind=kind, unit_ids=unit_ids)
    except OSError as exc:
        raise _retry(self, exc) from exc


@shared_task(bind=True, max_retries=5)
def programme_report_send(self, programme_id: int) -> int:
    from oversight.services import programme_report_send as send

    try:
        return send(programme_id=programme_id)
    except OSError as exc:
        raise _retry(self, exc) from exc


@shared_task
def rollups_refresh_recent() -> dict:
    """Beat, every five minutes: today's alerts and the devices online show on the dashboards."""
    from oversight.rollups import rollups_refresh_recent as refresh

    return refresh()


@shared_task(soft_time_limit=600, time_limit=660)
def rollups_refresh_nightly() -> dict:
    """Beat, once a night: the late handling of older alerts, over the dashboards' window."""
    from oversight.rollups import rollups_refresh_nightly as refresh

    return refresh()
