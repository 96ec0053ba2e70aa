"""factory_boy factories. Tenancy-shaped objects go through services, so that groups,
memberships and guardian grants are exactly what production would have."""

import factory
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Membership, Organisation, User
from units import services as unit_services
from units.models import Region, Responder, Unit


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.cn")
    full_name = factory.Faker("name", locale="zh_CN")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-42")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def organisation_for(owner: User, *, kind=Organisation.Kind.UNIT, name=None) -> Organisation:
    return account_services.organisation_create(
        name=name or f"{owner.full_name}的组织", kind=kind, owner=owner
    )


def responder_for(owner: User, *, name: str, kind: str, regions, phone: str) -> Responder:
    """A responder (fire station, operations centre…) run by `owner`, covering `regions`."""
    organisation = organisation_for(owner, kind=Organisation.Kind.RESPONDER, name=name)
    return unit_services.responder_create(
        organisation=organisation, name=name, kind=kind, phone=phone, regions=regions
    )


def member_add(organisation: Organisation, user: User, role: str) -> Membership:
    return account_services._membership_add(organisation=organisation, user=user, role=role)


def region_tree(prefix: str = "310101", name: str = "黄浦区") -> dict[str, Region]:
    """City › district › subdistrict › grid, reusing the city when it exists."""
    city = Region.objects.filter(code="310000").first() or unit_services.region_create(
        code="310000", name="上海市", name_en="Shanghai", level=Region.Level.CITY
    )
    district = unit_services.region_create(
        code=prefix, name=name, level=Region.Level.DISTRICT, parent=city
    )
    subdistrict = unit_services.region_create(
        code=f"{prefix}002", name=f"{name}某街道", level=Region.Level.SUBDISTRICT, parent=district
    )
    grid = unit_services.region_create(
        code=f"{prefix}002001", name=f"{name}第一网格", level=Region.Level.GRID, parent=subdistrict
    )
    return {"city": city, "district": district, "subdistrict": subdistrict, "grid": grid}


def unit_for(organisation: Organisation, *, by: User, region: Region, **overrides) -> Unit:
    facts = {
        "name": "田子坊某店",
        "kind": Unit.Kind.SHOP,
        "address": "泰康路210弄",
        "floor_area_m2": 60,
        "floors": 2,
        "responsible_name": "张三",
        "responsible_phone": "13800000000",
    }
    facts.update(overrides)
    return unit_services.unit_create(organisation=organisation, by=by, region=region, **facts)


def now():
    return timezone.now()
