import math

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.models import BomLine, bom_quantity
from marketplace.quotes import quote_for
from tests.marketplace_fixtures import YUAN
from units.models import Unit

facts = st.builds(
    Unit,
    floor_area_m2=st.integers(1, 200_000),
    floors=st.integers(1, 120),
    elevators=st.integers(0, 80),
    shops_inside=st.integers(0, 500),
    entrances=st.integers(1, 40),
)


@given(unit=facts, quantity=st.integers(1, 20), step=st.integers(1, 5_000))
@settings(max_examples=300, deadline=None)
def test_per_area_covers_every_square_metre(unit, quantity, step):
    devices = bom_quantity(
        rule=BomLine.Rule.PER_AREA, quantity=quantity, area_step_m2=step, unit=unit
    )
    assert devices == math.ceil(unit.floor_area_m2 / step) * quantity
    assert devices * step >= unit.floor_area_m2 * quantity > (devices - quantity) * step


@given(unit=facts, quantity=st.integers(1, 20))
@settings(max_examples=300, deadline=None)
def test_counting_rules_scale_with_the_facts(unit, quantity):
    expected = {
        BomLine.Rule.FIXED: quantity,
        BomLine.Rule.PER_FLOOR: unit.floors * quantity,
        BomLine.Rule.PER_ELEVATOR: unit.elevators * quantity,
        BomLine.Rule.PER_SHOP: unit.shops_inside * quantity,
        BomLine.Rule.PER_ENTRANCE: unit.entrances * quantity,
    }
    for rule, devices in expected.items():
        assert bom_quantity(rule=rule, quantity=quantity, area_step_m2=None, unit=unit) == devices


def test_quote_for_a_shop(draft, alice_unit):
    # alice_unit: 60 m² → two detectors at one per 30 m².
    quote = quote_for(revision=draft, unit=alice_unit, months=24)

    assert quote.devices == 2
    assert quote.purchase_upfront == 2 * (180 + 20) * YUAN
    assert quote.monitoring_monthly == 2 * 5 * YUAN
    assert quote.purchase_total == 2 * 200 * YUAN + 24 * 10 * YUAN
    assert quote.lease_first_payment == 2 * 20 * YUAN + 2 * 50 * YUAN + 2 * 8 * YUAN
    assert quote.lease_total == 2 * 20 * YUAN + 24 * (16 + 10) * YUAN
    assert quote.lease_buyout == 2 * 30 * YUAN


def test_lease_total_counts_at_least_the_minimum_term(draft, alice_unit):
    quote = quote_for(revision=draft, unit=alice_unit, months=3)
    assert quote.lease_term_months == 12
    assert quote.lease_total == 2 * 20 * YUAN + 12 * (16 + 10) * YUAN
