"""Label sheets: a PDF with one label per device (serial, claim code, model name and a QR code
that opens the claim page prefilled), 24 labels per A4 sheet, at most MAX_LABELS per file."""

import base64
import contextlib
import re
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
from django.conf import settings

from devices import labels, services
from devices.models import Device

pytestmark = pytest.mark.django_db


def pdf_text(pdf: bytes) -> str:
    """The PDF's streams, decoded (reportlab writes them ASCII85 + Flate), as one text: the
    page content operators, where text in standard fonts reads `(SA-0001) Tj`."""
    decoded = []
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        data = match.group(1).strip()
        if data.endswith(b"~>"):
            data = base64.a85decode(data[:-2])
        with contextlib.suppress(zlib.error):
            data = zlib.decompress(data)
        decoded.append(data.decode("latin-1"))
    return "\n".join(decoded)


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


def image_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Subtype /Image", pdf))


@pytest.fixture
def stock(vendor, smoke_detector, vince):
    return [
        services.device_provision(
            vendor=vendor, device_model=smoke_detector, serial=f"SA-{n:04}", by=vince
        )[0]
        for n in range(1, 4)
    ]


def test_a_sheet_has_a_label_per_device_with_its_serial_and_claim_code(stock):
    pdf = labels.labels_pdf(Device.objects.select_related("device_model").order_by("serial"))

    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for device in stock:
        assert f"({device.serial}) Tj" in text
        assert f"({device.claim_code}) Tj" in text
    assert "(SA-S100) Tj" in text  # the model number; its Chinese name is in the CID font
    assert "STSong-Light" in pdf.decode("latin-1")
    assert (page_count(pdf), image_count(pdf)) == (1, 3)  # one QR code per label


def test_labels_fill_sheets_of_24_and_stop_at_the_file_limit(
    vendor, smoke_detector, vince, monkeypatch
):
    device_model = smoke_detector
    devices = [
        Device(vendor=vendor, device_model=device_model, serial=f"B-{n}", claim_code="ABCDEFGH")
        for n in range(30)
    ]
    assert (page_count(labels.labels_pdf(devices)), image_count(labels.labels_pdf(devices))) == (
        2,
        30,
    )
    monkeypatch.setattr(labels, "MAX_LABELS", 5)
    assert image_count(labels.labels_pdf(devices)) == 5
    empty = labels.labels_pdf([])
    assert empty.startswith(b"%PDF") and image_count(empty) == 0


def test_the_qr_code_opens_the_claim_page_prefilled(client_for, alice, alice_unit, stock):
    device = stock[0]
    url = labels.claim_url(device)

    assert url == f"{settings.SITE_URL}/devices/claim/?serial=SA-0001&code={device.claim_code}"
    qr = labels.qr_code(url)
    assert qr.matrix == segno.make(url, error="m", micro=False).matrix
    image = labels.qr_image(qr)
    size = len(qr.matrix) + 4  # a two-module quiet zone on each side
    assert image.size == (size, size)
    assert image.getpixel((0, 0)) == 255 and image.getpixel((2, 2)) == 0  # the finder's corner
    # The unit side's claim page takes the serial and code from the address.
    query = urlsplit(url)
    page = client_for(alice).get(f"{query.path}?{query.query}").content.decode()
    assert f'value="{device.serial}"' in page and f'value="{device.claim_code}"' in page


def test_serials_with_unusual_characters_are_encoded_in_the_address(vendor, smoke_detector):
    device = Device(
        vendor=vendor, device_model=smoke_detector, serial="A&B #7/序", claim_code="ABCDEFGH"
    )

    query = parse_qs(urlsplit(labels.claim_url(device)).query)

    assert query == {"serial": ["A&B #7/序"], "code": ["ABCDEFGH"]}
    assert labels.labels_pdf([device]).startswith(b"%PDF")  # drawn in the CJK font
