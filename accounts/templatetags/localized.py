"""`{{ scenario|localized:"name" }}`: the `name_en` twin of a field when the page is in English
and the twin is filled in, otherwise the field itself (Chinese, the default language)."""

from django import template
from django.utils.translation import get_language

register = template.Library()


@register.filter
def localized(obj, field: str):
    if obj is None:
        return ""
    if (get_language() or "").startswith("en"):
        english = getattr(obj, f"{field}_en", "")
        if english:
            return english
    return getattr(obj, field, "")
