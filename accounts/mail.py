"""One e-mail to many people, each in their own language.

The message is written once per language that its recipients read (under
`translation.override`) and sent to everyone who reads it. A user reads the language saved
on their account; an address without an account gets the platform's language (Chinese).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import translation

from accounts.models import DEFAULT_LANGUAGE, User


@dataclass
class Email:
    subject: str
    body: str
    # (filename, content, mimetype), as EmailMessage.attach takes them.
    attachments: list[tuple[str, str, str]] = field(default_factory=list)


def language_of(user: User | None) -> str:
    """The language a person reads: their saved choice; the platform's when there is no
    account or the choice is no longer offered."""
    language = getattr(user, "language", "") if user is not None else ""
    return language if language in dict(settings.LANGUAGES) else DEFAULT_LANGUAGE


def addresses_by_language(recipients: Iterable[User | str]) -> dict[str, list[str]]:
    """{language: [addresses]}, in the order the recipients came, each address once."""
    groups: dict[str, list[str]] = {}
    seen: set[str] = set()
    for recipient in recipients:
        if isinstance(recipient, str):
            address, language = recipient, DEFAULT_LANGUAGE
        else:
            address, language = recipient.email, language_of(recipient)
        if address and address.lower() not in seen:
            seen.add(address.lower())
            groups.setdefault(language, []).append(address)
    return groups


def email_send_per_language(
    *, recipients: Iterable[User | str], compose: Callable[[], Email]
) -> int:
    """Send `compose()`'s message to the recipients: one e-mail per language among them,
    composed in that language. Returns the number of e-mails sent (0 when nobody is left).

    Pass users (with `email` and `language` loaded) wherever the recipient has an account,
    so that they read the message in their own language."""
    sent = 0
    for language, addresses in addresses_by_language(recipients).items():
        with translation.override(language):
            email = compose()
        message = EmailMessage(" ".join(email.subject.splitlines()), email.body, None, addresses)
        for attachment in email.attachments:
            message.attach(*attachment)
        message.send()
        sent += 1
    return sent
