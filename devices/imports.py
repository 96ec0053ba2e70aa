"""Bulk provisioning: a vendor's CSV of serial numbers becomes stock.

The file has the columns `serial, model_number[, firmware]`, with or without a header row
(a header may name them in any order). The upload (`inventory_import_create`) checks the file
as a whole, keeps its text in an InventoryImport row and queues a Celery task; the task
(`inventory_import_run`) checks every row and creates the good ones in chunks of CHUNK, each
chunk in one transaction together with the import's progress, so that the page's progress bar
moves and a worker that dies resumes where the last chunk ended. A refused row never stops the
others: it is listed with its row number (as a spreadsheet numbers it) and why.

Devices made here get a claim code and a token like any other, but the token is never shown:
the vendor rotates it when a device needs one (devices.services.device_token_rotate).
"""

import csv
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.services import audit_record, membership_require
from devices import tokens
from devices.models import Device, DeviceTransition, InventoryImport
from marketplace.models import DeviceModel, Vendor

logger = logging.getLogger(__name__)

Status = InventoryImport.Status
CHUNK = 1000
MAX_BYTES = 8 * 1024 * 1024
MAX_ROWS = 100_000
SERIAL_MAX = 64
FIRMWARE_MAX = 32
# Header names accepted for each column (a spreadsheet's own words included).
HEADERS = {
    "serial": {"serial", "serial_number", "serial number", "sn", "序列号"},
    "model_number": {"model_number", "model number", "model", "型号"},
    "firmware": {"firmware", "firmware_version", "firmware version", "固件", "固件版本"},
}

# Why a row was refused: the code is stored, the words are chosen when read (in the reader's
# language).
ERROR_MESSAGES = {
    "serial_missing": gettext_lazy("The serial number is empty."),
    "serial_too_long": gettext_lazy("The serial number is longer than 64 characters."),
    "duplicate_in_file": gettext_lazy("The same serial number is on row %(first_row)s."),
    "serial_exists": gettext_lazy("You already have a device with this serial number."),
    "model_missing": gettext_lazy("The model number is empty."),
    "model_unknown": gettext_lazy("%(model_number)s is not one of your device models."),
    "firmware_too_long": gettext_lazy("The firmware version is longer than 32 characters."),
}


def error_message(error: dict) -> str:
    """A stored refusal in words: {"row": 7, "code": "duplicate_in_file", "first_row": 3}."""
    message = ERROR_MESSAGES.get(error.get("code"))
    if message is None:
        return str(error.get("code", ""))
    try:
        return str(message) % error if "%(" in str(message) else str(message)
    except (KeyError, TypeError, ValueError):
        return str(message)


@dataclass(frozen=True)
class Row:
    number: int  # as a spreadsheet numbers it (the header is row 1)
    serial: str
    model_number: str
    firmware: str


# Reading the file ----------------------------------------------------------------------------


def decode(content: bytes) -> str:
    """UTF-8 (with or without Excel's byte-order mark), else GB18030, which is what Excel on
    a Chinese Windows saves "CSV" as."""
    if b"\x00" in content:
        raise ValidationError({"file": _("This is not a CSV file (save the sheet as CSV).")})
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError({"file": _("Save the file as CSV in UTF-8.")})


def _columns(header: list[str]) -> dict[str, int] | None:
    """Column positions named by a header row, or None when the first row is data."""
    names = [cell.strip().lower() for cell in header]
    found = {
        column: next((i for i, name in enumerate(names) if name in accepted), None)
        for column, accepted in HEADERS.items()
    }
    if found["serial"] is None and found["model_number"] is None:
        return None
    if found["serial"] is None or found["model_number"] is None:
        raise ValidationError(
            {"file": _("The header row needs the columns serial and model_number.")}
        )
    return found


def _cell(record: list[str], position: int | None) -> str:
    if position is None or position >= len(record):
        return ""
    return record[position].strip()


def rows_of(text: str) -> Iterator[Row]:
    """Every data row, blank lines skipped; raises ValidationError for a bad header."""
    reader = csv.reader(io.StringIO(text, newline=""))
    columns: dict[str, int | None] | None = None
    for record in reader:
        if not any(cell.strip() for cell in record):
            continue
        if columns is None:
            columns = _columns(record)
            if columns is not None:
                continue
            columns = {"serial": 0, "model_number": 1, "firmware": 2}
        yield Row(
            number=reader.line_num,
            serial=_cell(record, columns["serial"]),
            model_number=_cell(record, columns["model_number"]),
            firmware=_cell(record, columns["firmware"]),
        )


# Upload --------------------------------------------------------------------------------------


def inventory_import_create(
    *, vendor: Vendor, by: User, name: str, content: bytes
) -> InventoryImport:
    """Keep the file and queue its import. The file is refused as a whole only when it is
    not a CSV, is empty or too large; bad rows are the task's to report."""
    membership_require(organisation=vendor.organisation, user=by, manage=False)
    if len(content) > MAX_BYTES:
        raise ValidationError({"file": _("The file is larger than 8 MB: split it.")})
    text = decode(content)
    try:
        total = sum(1 for _row in rows_of(text))
    except csv.Error as exc:
        raise ValidationError({"file": _("The file cannot be read as CSV.")}) from exc
    if total == 0:
        raise ValidationError({"file": _("The file has no rows.")})
    if total > MAX_ROWS:
        raise ValidationError(
            {"file": _("At most %(max)s rows per file: split it.") % {"max": f"{MAX_ROWS:,}"}}
        )
    with transaction.atomic():
        inventory_import = InventoryImport.objects.create(
            vendor=vendor,
            by=by,
            name=(name or "inventory.csv")[:200],
            source=text,
            total_rows=total,
        )
        audit_record(
            actor=by,
            action="device.import",
            target=inventory_import,
            organisation=vendor.organisation,
            changes={"rows": total},
        )
        from devices.tasks import inventory_import_run as task

        transaction.on_commit(lambda: task.delay(inventory_import.pk))
    return inventory_import


# The task's work ---------------------------------------------------------------------------------


class _Superseded(Exception):
    """Another run of the same import recorded this chunk first."""


def inventory_import_run(*, inventory_import_id: int) -> InventoryImport | None:
    """Check and create every row not yet recorded, chunk by chunk; then done. Safe to run
    twice at once (a chunk is recorded by whichever run gets there first; the other stops)
    and to run again after a worker died (it resumes after the last recorded chunk)."""
    InventoryImport.objects.filter(pk=inventory_import_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now()
    )
    inventory_import = InventoryImport.objects.filter(
        pk=inventory_import_id, status=Status.RUNNING
    ).first()
    if inventory_import is None:  # finished already, or gone
        return None
    try:
        _run(inventory_import)
    except _Superseded:
        return None
    except Exception as exc:
        logger.exception("Inventory import %s failed", inventory_import_id)
        InventoryImport.objects.filter(pk=inventory_import_id, status=Status.RUNNING).update(
            status=Status.FAILED, failure=str(exc)[:300], finished_at=timezone.now()
        )
        raise
    InventoryImport.objects.filter(pk=inventory_import_id, status=Status.RUNNING).update(
        status=Status.DONE, finished_at=timezone.now()
    )
    inventory_import.refresh_from_db()
    return inventory_import


def _run(inventory_import: InventoryImport) -> None:
    device_models = {
        device_model.model_number: device_model
        for device_model in DeviceModel.objects.filter(vendor=inventory_import.vendor)
    }
    seen: dict[str, int] = {}  # serial → the first row it is on
    done = inventory_import.processed_rows
    chunk: list[Row] = []
    for index, row in enumerate(rows_of(inventory_import.source)):
        if index < done:  # recorded by an earlier run: only remember its serial
            if row.serial:
                seen.setdefault(row.serial, row.number)
            continue
        chunk.append(row)
        if len(chunk) == CHUNK:
            _chunk_import(inventory_import, chunk, device_models, seen)
            chunk = []
    if chunk:
        _chunk_import(inventory_import, chunk, device_models, seen)


def _check(row: Row, device_models: dict, seen: dict[str, int]) -> dict | None:
    """The first reason to refuse the row, or None."""
    if not row.serial:
        return {"code": "serial_missing"}
    if len(row.serial) > SERIAL_MAX:
        return {"code": "serial_too_long"}
    if row.serial in seen:
        return {"code": "duplicate_in_file", "first_row": seen[row.serial]}
    if not row.model_number:
        return {"code": "model_missing"}
    if row.model_number not in device_models:
        return {"code": "model_unknown", "model_number": row.model_number[:64]}
    if len(row.firmware) > FIRMWARE_MAX:
        return {"code": "firmware_too_long"}
    return None


def _chunk_import(
    inventory_import: InventoryImport, rows: list[Row], device_models: dict, seen: dict
) -> None:
    """One chunk in one transaction: its devices, their first transition, and the import's
    progress, all or nothing."""
    seen_after = dict(seen)
    errors, good = [], []
    for row in rows:
        refusal = _check(row, device_models, seen_after)
        if row.serial and row.serial not in seen_after:
            seen_after[row.serial] = row.number
        if refusal is None:
            good.append(row)
        else:
            errors.append({"row": row.number, "serial": row.serial[:SERIAL_MAX], **refusal})
    with transaction.atomic():
        devices, clashes = _devices_create(inventory_import, good, device_models)
        errors = sorted(errors + clashes, key=lambda error: error["row"])
        reason = f"CSV {inventory_import.name}"[:300]
        DeviceTransition.objects.bulk_create(
            DeviceTransition(
                device=device, to_state=device.state, by=inventory_import.by, reason=reason
            )
            for device in devices
        )
        Through = InventoryImport.devices.through
        Through.objects.bulk_create(
            Through(inventoryimport_id=inventory_import.pk, device_id=device.pk)
            for device in devices
        )
        _progress_record(inventory_import, rows=len(rows), created=len(devices), errors=errors)
    seen.update(seen_after)


def _existing_serials(vendor: Vendor, serials: list[str]) -> set[str]:
    found = Device.objects.filter(vendor=vendor, serial__in=serials)
    return set(found.values_list("serial", flat=True))


def _devices_create(
    inventory_import: InventoryImport, rows: list[Row], device_models: dict
) -> tuple[list[Device], list[dict]]:
    """The rows' devices, less the serials already in stock (refusals of their own). A
    serial added by hand between the check and the insert makes the insert fail: only the
    insert is undone (a savepoint) and the chunk is checked again against the stock."""
    for attempt in range(3):
        existing = _existing_serials(inventory_import.vendor, [row.serial for row in rows])
        devices = []
        for row in rows:
            if row.serial in existing:
                continue
            _token, digest, prefix = tokens.token_new()  # never shown: rotated when needed
            devices.append(
                Device(
                    vendor=inventory_import.vendor,
                    device_model=device_models[row.model_number],
                    serial=row.serial,
                    firmware_version=row.firmware,
                    claim_code=tokens.claim_code_new(),
                    token_hash=digest,
                    token_prefix=prefix,
                )
            )
        try:
            with transaction.atomic():
                devices = Device.objects.bulk_create(devices)
        except IntegrityError:
            if attempt == 2:
                raise
            continue
        clashes = [
            {"row": row.number, "serial": row.serial, "code": "serial_exists"}
            for row in rows
            if row.serial in existing
        ]
        return devices, clashes
    raise AssertionError("unreachable")


def _progress_record(
    inventory_import: InventoryImport, *, rows: int, created: int, errors: list[dict]
) -> None:
    """The chunk's counts and refusals (up to ERRORS_KEPT listed), recorded only if no
    other run of the same import recorded these rows first (a conditional UPDATE)."""
    room = max(0, InventoryImport.ERRORS_KEPT - len(inventory_import.errors))
    kept = inventory_import.errors + errors[:room]
    start = inventory_import.processed_rows
    recorded = InventoryImport.objects.filter(
        pk=inventory_import.pk, status=Status.RUNNING, processed_rows=start
    ).update(
        processed_rows=start + rows,
        created_count=F("created_count") + created,
        error_count=F("error_count") + len(errors),
        errors=kept,
    )
    if recorded != 1:
        raise _Superseded
    inventory_import.processed_rows = start + rows
    inventory_import.created_count += created
    inventory_import.error_count += len(errors)
    inventory_import.errors = kept
