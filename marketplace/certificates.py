"""The certificate as a document: the public facts of a certified revision, the address of its
verification page, and a PDF with a QR code pointing there.

The PDF uses reportlab's built-in CID font STSong-Light for Chinese (nothing is downloaded)
and segno's QR code as a PNG drawn into the page, all in memory.
"""

import io
from dataclasses import dataclass
from datetime import date

import segno
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from marketplace.models import SolutionRevision

Status = SolutionRevision.Status
FONT = "STSong-Light"


def verification_url(number: str) -> str:
    """The absolute address of the public verification page that the QR code opens."""
    return settings.SITE_URL + reverse("marketplace:certificate", args=[number])


def certificate_status(revision: SolutionRevision, today: date | None = None) -> str:
    """The status a verifier must see: a certificate past its date reads "expired" even before
    the nightly sweep has recorded it."""
    today = today or timezone.localdate()
    if (
        revision.status in (Status.CERTIFIED, Status.SUSPENDED)
        and revision.valid_until
        and revision.valid_until < today
    ):
        return Status.EXPIRED
    return revision.status


@dataclass
class CertificateFacts:
    number: str
    holder: str
    solution: str
    solution_en: str
    scenario: str
    tier: str
    standard: str
    status: str
    status_label: str
    valid_from: date | None
    valid_until: date | None
    url: str


def certificate_facts(revision: SolutionRevision) -> CertificateFacts:
    status = certificate_status(revision)
    standard = revision.standard
    return CertificateFacts(
        number=revision.certificate_number,
        holder=revision.solution.vendor.organisation.name,
        solution=revision.name,
        solution_en=revision.name_en,
        scenario=revision.solution.scenario.name,
        tier=str(revision.solution.get_tier_display()),
        standard=f"{standard.title} v{standard.version}" if standard else "",
        status=status,
        status_label=str(Status(status).label),
        valid_from=revision.valid_from,
        valid_until=revision.valid_until,
        url=verification_url(revision.certificate_number),
    )


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


def certificate_pdf(revision: SolutionRevision) -> bytes:
    """One A4 page: the facts, in Chinese and English labels, and the verification QR code."""
    facts = certificate_facts(revision)
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, pageCompression=0)
    page.setTitle(f"{_('Certificate')} {facts.number}")
    page.setSubject(facts.number)
    width, height = A4
    page.setFont(FONT, 22)
    page.drawCentredString(width / 2, height - 40 * mm, _("Certificate of conformity"))
    # The number in a standard font, so that it is plain searchable text in the file.
    page.setFont("Helvetica-Bold", 14)
    page.drawCentredString(width / 2, height - 50 * mm, facts.number)
    rows = [
        (_("Holder"), facts.holder),
        (_("Solution"), facts.solution),
        ("", facts.solution_en),
        (_("Scenario"), facts.scenario),
        (_("Tier"), facts.tier),
        (_("Reference standard"), facts.standard),
        (_("Status"), facts.status_label),
        (_("Valid from"), facts.valid_from.isoformat() if facts.valid_from else "—"),
        (_("Valid until"), facts.valid_until.isoformat() if facts.valid_until else "—"),
    ]
    y = height - 70 * mm
    page.setFont(FONT, 12)
    for label, value in rows:
        page.drawString(25 * mm, y, label)
        page.drawString(70 * mm, y, value)
        y -= 9 * mm
    qr_size = 45 * mm
    page.drawImage(
        ImageReader(io.BytesIO(qr_png(facts.url))),
        (width - qr_size) / 2,
        y - qr_size - 5 * mm,
        qr_size,
        qr_size,
    )
    page.setFont(FONT, 9)
    page.drawCentredString(width / 2, y - qr_size - 12 * mm, _("Verify at") + " " + facts.url)
    page.showPage()
    page.save()
    return buffer.getvalue()
