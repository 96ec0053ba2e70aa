"""Choice labels at the cost of one lookup."""

import functools

from django.utils.encoding import force_str


@functools.cache
def _labels(field) -> dict:
    return dict(field.flatchoices)


class ChoiceLabels:
    """A model mixin: `get_<field>_display()` reads a dict built once per field. Django's own
    rebuilds it on every call, hashing (so translating) every label of the field: a console of
    200 alerts spent about 30 ms a page on it."""

    def _get_FIELD_display(self, field):
        value = getattr(self, field.attname)
        return force_str(_labels(field).get(value, value), strings_only=True)
