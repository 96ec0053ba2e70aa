"""`{{ fen|yuan }}` → ¥12.50: prices are stored as integer fen and shown as yuan."""

from django import template

register = template.Library()


@register.filter
def yuan(fen) -> str:
    if fen is None or fen == "":
        return "—"
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"
