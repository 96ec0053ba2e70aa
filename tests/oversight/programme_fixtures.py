"""Coverage and programme fixtures, imported by the oversight test modules that need them.

A unit is made *covered* straight with the ORM (a paid order and its line, an active device of
that line, an active monitoring subscription): the coverage maths only reads those rows, and
the real purchase path (localstripe, fulfilment, claiming) is tested in billing and devices.
Personas: rita reviews for the Huangpu district (tests.marketplace_fixtures), otto for Jing'an
(another district: he must see none of rita's programmes), ada is a viewer in rita's
authority; alice's shop is in Huangpu's grid, charlie's in Jing'an's.
"""

from datetime import date, timedelta
from itertools import count

import pytest
from django.utils import timezone

from billing.models import MonitoringSubscription, Order, OrderLine
from devices.models import Device
from oversight import services
from tests import factories
from units import services as unit_services

_numbers = count(1)


def cover(unit, revision, *, by, state=Device.State.ACTIVE, subscription="active"):
    """Give `unit` a paid order of `revision` with one device in `state` and, unless
    `subscription` is None, a monitoring subscription in that status. Returns (device,
    subscription)."""
    number = next(_numbers)
    solution = revision.solution
    order = Order.objects.create(
        number=f"SU-T{number:06}",
        unit=unit,
        vendor=solution.vendor,
        revision=revision,
        mode="purchase",
        status=Order.Status.COMPLETED,
        snapshot={"name": revision.name},
        devices=1,
        amount_due=0,
        created_by=by,
    )
    model = revision.bom.first().device_model
    line = OrderLine.objects.create(
        order=order,
        device_model=model,
        name=model.name,
        model_number=model.model_number,
        rule="fixed",
        quantity=1,
    )
    device = Device.objects.create(
        vendor=solution.vendor,
        device_model=model,
        serial=f"T-{number:06}",
        claim_code="000000",
        state=state,
        unit=unit,
        order_line=line,
    )
    monitoring = None
    if subscription is not None:
        monitoring = (
            MonitoringSubscription.objects.filter(unit=unit, solution=solution)
            .exclude(status=MonitoringSubscription.Status.CANCELLED)
            .first()
        )
        if monitoring is None:
            monitoring = MonitoringSubscription.objects.create(
                unit=unit,
                solution=solution,
                vendor=solution.vendor,
                unit_price=revision.monitoring_fee,
                quantity=1,
                status=subscription,
                stripe_subscription=f"sub_test_{number}",
            )
    return device, monitoring


def shop(organisation, owner, region, name, **facts):
    return factories.unit_for(organisation, by=owner, region=region, name=name, **facts)


def in_days(days: int) -> date:
    return timezone.localdate() + timedelta(days=days)


@pytest.fixture
def otto(other_regions):
    """A reviewer of Jing'an: another district's authority."""
    user = factories.UserFactory(email="otto@example.cn", full_name="Otto")
    unit_services.authority_create(
        name="静安区城运中心", region=other_regions["district"], owner=user
    )
    return user


@pytest.fixture
def programme(authority, rita, regions, fire):
    """rita's programme: every shop in Huangpu's subdistrict covers fire safety in 60 days."""
    return services.programme_create(
        authority=authority.authority,
        by=rita,
        name="街道商户消防全覆盖",
        region=regions["subdistrict"],
        unit_kind="shop",
        scenario=fire,
        deadline=in_days(60),
    )
