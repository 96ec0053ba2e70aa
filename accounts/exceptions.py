"""The one place where the API turns what services raise into HTTP answers.

Services speak Django: `ValidationError({"field": [msg]})` for bad input, `PermissionDenied`
for a role that may not write, `Http404` (from selectors) for "missing" and "not yours" alike.
API views let those propagate; this handler answers 400 keyed by field, 403 and 404, so that
no view repeats a try/except and every endpoint answers the same way.
"""

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler


def validation_error_detail(error: DjangoValidationError) -> dict[str, list[str]]:
    """`{"field": [messages]}`; errors that name no field go under DRF's non-field key."""
    if not hasattr(error, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: list(error.messages)}
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): list(
            DjangoValidationError(errors).messages
        )
        for field, errors in error.error_dict.items()
    }


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_error_detail(exc))
    elif isinstance(exc, PermissionDenied):
        # Services explain refusals in English for logs; people get DRF's translated message.
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, Http404):
        # The same words for "missing" and "not yours": nothing says which it was.
        exc = exceptions.NotFound()
    return exception_handler(exc, context)
