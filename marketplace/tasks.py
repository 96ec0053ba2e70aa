from celery import shared_task

from marketplace import services


@shared_task
def certificates_expire() -> int:
    return services.certificates_expire()


@shared_task(bind=True, max_retries=5)
def revision_status_notify(self, revision_id: int) -> None:
    from marketplace.notifications import revision_status_send

    try:
        revision_status_send(revision_id=revision_id)
    except OSError as exc:
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc
