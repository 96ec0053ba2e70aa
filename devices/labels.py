"""Label sheets: one label per device with a QR code that opens the claim page already filled
in (serial and claim code), and the same facts in text for whoever types them.

A4 sheets of 3 × 8 labels of 70 × 37 mm (the common "24 per sheet" stock). The QR code is
drawn as vector rectangles straight from segno's matrix (sharp at any printer resolution, and
no image to encode per label); Chinese model names use reportlab's built-in CID font
STSong-Light, as the certificates do (marketplace/certificates.py). All in memory.
"""

import io
from collections.abc import Iterable
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from devices.models import Device

CJK_FONT = "STSong-Light"
COLUMNS, ROWS = 3, 8
LABEL_WIDTH, LABEL_HEIGHT = 70 * mm, 37 * mm
PER_SHEET = COLUMNS * ROWS
# One PDF holds at most this many labels (21 sheets, a few seconds' work: choosing each QR
# code's mask is most of it); larger sets are printed in parts.
MAX_LABELS = 500
QR_SIZE = 31 * mm
PADDING = 3 * mm


def claim_url(device: Device, *, page_url: str | None = None) -> str:
    """The unit-side claim page, prefilled: `SITE_URL/devices/claim/?serial=…&code=…`."""
    page_url = page_url or settings.SITE_URL + reverse("devices:claim")
    return f"{page_url}?{urlencode({'serial': device.serial, 'code': device.claim_code})}"


def qr_code(url: str) -> segno.QRCode:
    # Level M survives a scuffed label (15 % of the code) and stays small for long URLs.
    return segno.make(url, error="m", micro=False)


def qr_image(qr: segno.QRCode) -> Image.Image:
    """The code as a one-pixel-per-module bitmap with a two-module quiet zone; drawn scaled
    up without smoothing, its modules print as sharp squares."""
    border = 2
    matrix = qr.matrix
    size = len(matrix) + 2 * border
    blank = [255] * size
    pixels = blank * border
    for row in matrix:
        pixels += [255] * border + [0 if dark else 255 for dark in row] + [255] * border
    pixels += blank * border
    image = Image.new("L", (size, size))
    image.putdata(pixels)
    return image


def _fit(page: canvas.Canvas, text: str, font: str, size: float, width: float) -> float:
    """The font size, at most `size`, at which `text` fits in `width`."""
    actual = pdfmetrics.stringWidth(text, font, size)
    return size if actual <= width else max(4.0, size * width / actual)


def _text_font(text: str, latin: str) -> str:
    return latin if text.isascii() else CJK_FONT


def _draw_label(page: canvas.Canvas, device: Device, x: float, y: float, claim_page: str) -> None:
    page.drawImage(
        ImageReader(qr_image(qr_code(claim_url(device, page_url=claim_page)))),
        x + PADDING / 2,
        y + (LABEL_HEIGHT - QR_SIZE) / 2,
        QR_SIZE,
        QR_SIZE,
    )
    left = x + PADDING / 2 + QR_SIZE + 1 * mm
    width = x + LABEL_WIDTH - PADDING - left
    line = y + LABEL_HEIGHT - PADDING - 3 * mm

    name = device.device_model.name
    font = _text_font(name, "Helvetica")
    page.setFont(font, _fit(page, name, font, 8, width))
    page.drawString(left, line, name)
    page.setFont("Helvetica", 6)
    page.drawString(left, line - 3.2 * mm, device.device_model.model_number[:40])

    page.setFont(CJK_FONT, 6)
    page.drawString(left, line - 8 * mm, _("Serial number"))
    # Serial and code in a standard font: plain, searchable text in the file.
    font = _text_font(device.serial, "Helvetica-Bold")
    page.setFont(font, _fit(page, device.serial, font, 9, width))
    page.drawString(left, line - 11.5 * mm, device.serial)

    page.setFont(CJK_FONT, 6)
    page.drawString(left, line - 16 * mm, _("Claim code"))
    page.setFont("Courier-Bold", _fit(page, device.claim_code, "Courier-Bold", 13, width))
    page.drawString(left, line - 20.5 * mm, device.claim_code)

    page.setFont(CJK_FONT, 5.5)
    page.drawString(left, y + PADDING - 1 * mm, _("Scan to claim this device"))


def labels_pdf(devices: Iterable[Device], *, title: str = "") -> bytes:
    """A4 sheets of labels, in the order given (at most MAX_LABELS)."""
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    page.setTitle(title or _("Device labels"))
    page.setCreator("SafeUnit")
    sheet_width, sheet_height = A4
    left = (sheet_width - COLUMNS * LABEL_WIDTH) / 2
    top = sheet_height - (sheet_height - ROWS * LABEL_HEIGHT) / 2
    claim_page = settings.SITE_URL + reverse("devices:claim")
    count = 0
    for count, device in enumerate(devices, start=1):
        if count > MAX_LABELS:
            break
        position = (count - 1) % PER_SHEET
        if position == 0 and count > 1:
            page.showPage()
        column, row = position % COLUMNS, position // COLUMNS
        _draw_label(
            page, device, left + column * LABEL_WIDTH, top - (row + 1) * LABEL_HEIGHT, claim_page
        )
    if count == 0:
        page.setFont(CJK_FONT, 12)
        page.drawString(20 * mm, sheet_height - 30 * mm, _("No devices to label."))
    page.showPage()
    page.save()
    return buffer.getvalue()
