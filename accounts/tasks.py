from celery import shared_task

from accounts import services
from accounts.models import Invitation


@shared_task(bind=True, max_retries=5, default_retry_delay=30)
def invitation_send(self, invitation_id: int) -> None:
    invitation = Invitation.objects.select_related("organisation").filter(pk=invitation_id).first()
    if invitation is None:
        return
    try:
        services.invitation_send_email(invitation=invitation)
    except OSError as exc:  # SMTP down: try again with backoff
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc


@shared_task
def invitations_purge_expired() -> int:
    return services.invitations_purge_expired()


@shared_task(bind=True, max_retries=5, default_retry_delay=30)
def email_send(self, subject: str, body: str, recipients: list[str]) -> None:
    from django.core.mail import send_mail

    try:
        send_mail(subject, body, None, recipients)
    except OSError as exc:
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc
