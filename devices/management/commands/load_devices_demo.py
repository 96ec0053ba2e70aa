"""`manage.py load_devices_demo`: the demo vendor's stock, and the estate's order on its way.

申安消防科技（演示） gets serials SA-DEMO-0001… of each of its device models in stock, so that the
vendor login can fulfil a new order in the browser. The estate's paid order (load_billing_demo)
is allocated from that stock and shipped, so the estate manager can claim and place its devices.
The output names one of them (serial and claim code) and gives a command line that runs
scripts/simulate_device.py with that device's token: once the device is placed, its first
report brings it online.

Idempotent: serials already there are kept, a shipped order is left alone, and the simulator's
token is derived from SECRET_KEY, so a later run prints the same token without writing anything
(only if the token was rotated since is it set back).
"""

import base64
import hmac
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from billing.management.commands.load_billing_demo import ESTATE, SOLUTION, VENDOR_OWNER
from billing.models import Order
from devices import services, tokens
from devices.ingest import token_hash
from devices.models import Device, DeviceTransition
from marketplace.management.commands.load_marketplace_demo import DEMO_VENDOR
from marketplace.models import DeviceModel, Vendor
from units.models import Unit

State = Device.State
# model number → devices in stock at the start; the estate's order takes 18 SA-E300 (one per
# floor) and a gateway, leaving about forty for orders placed in the demo.
STOCK = {"SA-S100": 12, "SA-SH200": 12, "SA-G10": 6, "SA-E300": 30}
SERIAL = "SA-DEMO-{:04d}"
CARRIER = "顺丰速运"
MERCHANT = "merchant@demo.safeunit.cn"
COFFEE_SHOP = "林记咖啡"
SIMULATED_MODEL = "SA-E300"  # the residual-current monitor: it has readings worth charting
# What a healthy device reports, for the simulator's command line.
NORMAL = {"residual_current": (5, 30), "temperature": (22, 38), "smoke_density": (0, 0.05)}


def demo_token(serial: str) -> str:
    """The simulator's token for `serial`: the same on every run with the same SECRET_KEY."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"demo-device:{serial}".encode(), "sha256")
    return tokens.PREFIX + base64.urlsafe_b64encode(digest.digest()[:24]).decode()


class Command(BaseCommand):
    help = "Add the demo vendor's device stock and ship the estate's demo order."

    def handle(self, *args, **options):
        started = time.monotonic()
        models = {
            model.model_number: model
            for model in DeviceModel.objects.filter(
                vendor__organisation__name=DEMO_VENDOR
            ).select_related("vendor")
        }
        if not models:
            self.stdout.write(_("Demo devices skipped: load the marketplace demo first."))
            return
        vendor = next(iter(models.values())).vendor
        in_stock, added = self.stock(vendor, models)
        order = (
            Order.objects.filter(unit__name=ESTATE, vendor=vendor, revision__name=SOLUTION)
            .order_by("created_at")
            .first()
        )
        shipped = self.ship(order) if order is not None else 0
        self.stdout.write(
            _("Demo devices ready in %(seconds).1f s: %(stock)s in stock (%(added)s added).")
            % {
                "seconds": time.monotonic() - started,
                "stock": in_stock + added - shipped,
                "added": added,
            }
        )
        if shipped:
            self.stdout.write(
                _("Order %(number)s of %(unit)s: %(count)s devices allocated and shipped.")
                % {"number": order.number, "unit": ESTATE, "count": shipped}
            )
        if order is not None:
            self.simulator(order)
        self.coffee_shop_detector(vendor)

    def stock(self, vendor: Vendor, models: dict[str, DeviceModel]) -> tuple[int, int]:
        """(devices in stock before, demo devices added): the missing demo serials, made in
        two statements (their tokens are thrown away: a vendor rotates a token to get one)."""
        states = dict(Device.objects.filter(vendor=vendor).values_list("serial", "state"))
        in_stock = sum(state == State.IN_STOCK for state in states.values())
        devices, number = [], 0
        for model_number, count in STOCK.items():
            for _index in range(count):
                number += 1
                serial = SERIAL.format(number)
                if serial in states or model_number not in models:
                    continue
                _token, digest, prefix = tokens.token_new()
                devices.append(
                    Device(
                        vendor=vendor,
                        device_model=models[model_number],
                        serial=serial,
                        claim_code=tokens.claim_code_new(),
                        token_hash=digest,
                        token_prefix=prefix,
                    )
                )
        if devices:
            with transaction.atomic():
                Device.objects.bulk_create(devices)
                DeviceTransition.objects.bulk_create(
                    DeviceTransition(device=device, to_state=State.IN_STOCK, reason="demo stock")
                    for device in devices
                )
        return in_stock, len(devices)

    def ship(self, order: Order) -> int:
        """Allocate each line from stock (lowest serials first) and ship, as the vendor would."""
        if order.status not in {Order.Status.PAID, Order.Status.FULFILLING}:
            return 0
        vendor_owner = User.objects.get(email=VENDOR_OWNER)
        serials = []
        for line in order.lines.all():
            missing = line.quantity - line.devices.count()
            serials += Device.objects.filter(
                vendor=order.vendor, device_model=line.device_model_id, state=State.IN_STOCK
            ).values_list("serial", flat=True)[:missing]
        try:
            with transaction.atomic():  # allocated and shipped, or neither
                if serials:
                    services.devices_allocate(order=order, by=vendor_owner, serials=serials)
                services.order_ship(
                    order=order,
                    by=vendor_owner,
                    carrier=CARRIER,
                    tracking_number="SF" + order.number.replace("-", "")[2:],
                )
        except ValidationError as error:  # the vendor login used the stock meanwhile
            self.stdout.write(
                _("Order %(number)s not shipped: %(reason)s")
                % {"number": order.number, "reason": " ".join(error.messages)}
            )
            return 0
        return len(serials)

    def simulator(self, order: Order) -> None:
        devices = (
            Device.objects.filter(order_line__order=order)
            .exclude(state__in=[State.RETIRED, State.RETURNED])
            .select_related("device_model")
            .order_by("serial")
        )
        device = devices.filter(device_model__model_number=SIMULATED_MODEL).first()
        device = device or devices.first()
        if device is None:
            return
        if device.state == State.SHIPPED:
            self.stdout.write(
                _(
                    "The estate manager can claim %(serial)s with claim code %(code)s, "
                    "then place it."
                )
                % {"serial": device.serial, "code": device.claim_code}
            )
        token = demo_token(device.serial)
        digest = token_hash(token)
        if device.token_hash != digest:  # first run, or rotated since
            Device.objects.filter(pk=device.pk).update(token_hash=digest, token_prefix=token[:10])
        metrics = " ".join(
            f"--metric {m['name']}={':'.join(map(str, self.normal(m)))}"
            for m in device.device_model.metrics
        )
        self.stdout.write(
            _("Simulate device %(serial)s:") % {"serial": device.serial}
            + f"\n  python scripts/simulate_device.py {token} --url {settings.SITE_URL} {metrics}"
        )

    def coffee_shop_detector(self, vendor: Vendor) -> None:
        """A smoke detector reporting in the demo merchant's Tianzifang coffee shop, so that a
        simulated smoke alarm reaches the fire station's console (issue 6's demo)."""
        in_shop = {"name": COFFEE_SHOP, "organisation__memberships__user__email": MERCHANT}
        device = Device.objects.filter(
            device_model__model_number="SA-S100", **{f"unit__{k}": v for k, v in in_shop.items()}
        ).first()
        if device is None:
            merchant = User.objects.filter(email=MERCHANT).first()
            shop = Unit.objects.filter(**in_shop).first()
            if shop is None:
                return
            device = (
                Device.objects.filter(
                    vendor=vendor, device_model__model_number="SA-S100", state=State.IN_STOCK
                )
                .order_by("-serial")
                .first()
            )
            if device is None:
                return
            with transaction.atomic():
                Device.objects.filter(pk=device.pk).update(state=State.SHIPPED)
                DeviceTransition.objects.create(
                    device=device,
                    from_state=State.IN_STOCK,
                    to_state=State.SHIPPED,
                    reason="demo: delivered to the coffee shop",
                )
                device = services.device_claim(
                    unit=shop, by=merchant, serial=device.serial, claim_code=device.claim_code
                )
                services.device_place(
                    device=device,
                    by=merchant,
                    building="7号",
                    floor=1,
                    space_type="kitchen",
                    description="咖啡机上方吊顶",
                )
        token = demo_token(device.serial)
        digest = token_hash(token)
        if device.token_hash != digest:
            Device.objects.filter(pk=device.pk).update(token_hash=digest, token_prefix=token[:10])
        self.stdout.write(
            _("Raise a smoke alarm in %(shop)s (the fire station's console shows it):")
            % {"shop": COFFEE_SHOP}
            + f"\n  python scripts/simulate_device.py {token} --url {settings.SITE_URL}"
            " --smoke-alarm --count 3"
        )

    @staticmethod
    def normal(metric: dict) -> tuple:
        if metric["name"] in NORMAL:
            return NORMAL[metric["name"]]
        return metric.get("min", 0), metric.get("max", 1)
