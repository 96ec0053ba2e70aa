"""The SMS provider adapter: the only module that talks to the provider.

`settings.SMS_BACKEND` picks how a text goes out: "console" writes it to the log (the demo
and development), "http" POSTs `{"to", "text", "idempotency_key"}` as JSON to
`settings.SMS_HTTP_URL` with the key also in an `Idempotency-Key` header, so a provider that
honours keys sends a retried message once (DESIGN §6). The answer decides what happens next:
2xx sent; 4xx a permanent refusal (a bad number, a bad token: retrying will not help), except
408 and 429; 5xx, a timeout or a broken connection a temporary one (tried again later).
"""

import json
import logging
import urllib.error
import urllib.request

from django.conf import settings

logger = logging.getLogger(__name__)

# Answers in the 4xx range that still mean "try again later".
TEMPORARY_CLIENT_ERRORS = frozenset({408, 425, 429})


class SmsError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A provider that redirects is misconfigured; never re-send a message somewhere else."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def sms_send(*, to: str, text: str, idempotency_key: str) -> None:
    """Send one text message, or raise SmsError saying whether a retry can help."""
    if settings.SMS_BACKEND == "console":
        logger.info("SMS to %s [%s]: %s", to, idempotency_key, text)
        return
    _http_send(to=to, text=text, idempotency_key=idempotency_key)


def _http_send(*, to: str, text: str, idempotency_key: str) -> None:
    body = json.dumps(
        {"to": to, "text": text, "idempotency_key": idempotency_key}, ensure_ascii=False
    ).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": idempotency_key,
        "User-Agent": "SafeUnit-Alerts/1",
    }
    if settings.SMS_HTTP_TOKEN:
        headers["Authorization"] = f"Bearer {settings.SMS_HTTP_TOKEN}"
    request = urllib.request.Request(settings.SMS_HTTP_URL, data=body, headers=headers)
    try:
        with _opener.open(request, timeout=settings.SMS_HTTP_TIMEOUT_S) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode(errors="replace").strip()
        exc.close()
        permanent = 300 <= exc.code < 500 and exc.code not in TEMPORARY_CLIENT_ERRORS
        raise SmsError(
            f"SMS provider answered {exc.code}" + (f": {detail}" if detail else ""),
            permanent=permanent,
        ) from None
    except TimeoutError:
        raise SmsError("SMS provider timed out") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SmsError(f"SMS provider unreachable: {reason}") from None
