"""`manage.py load_demo`: Huangpu's pilot (DESIGN, seeds/002) as demo data, one login per role.

Everything is built through the services, so groups, memberships and guardian grants are what
production would have. Each object is looked up by its natural key first (region code, user
e-mail, organisation name + kind, unit name + organisation, responder name, shift start), so a
second run adds nothing, and a run on a later day only adds the roster days still missing.
"""

import time
import unicodedata
from collections import Counter
from datetime import date, datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import services as account_services
from accounts.models import Organisation, User
from units import services as unit_services
from units.models import Authority, DutyShift, Region, Responder, Unit

DEMO_PASSWORD = "safeunit-demo"
ROSTER_DAYS = 8  # today and the next seven days
Kind = Organisation.Kind

# code, name, English name, grids (code, name, English name)
CITY = ("310000", "上海市", "Shanghai")
DISTRICT = ("310101", "黄浦区", "Huangpu District")
SUBDISTRICTS = [
    (
        "310101002",
        "南京东路街道",
        "Nanjing East Road Subdistrict",
        [
            ("310101002001", "南京东路步行街网格", "Nanjing Road Walkway Grid"),
            ("310101002002", "福州路网格", "Fuzhou Road Grid"),
        ],
    ),
    (
        "310101013",
        "外滩街道",
        "The Bund Subdistrict",
        [
            ("310101013001", "外滩源网格", "Bund Origin Grid"),
            ("310101013002", "金陵东路网格", "East Jinling Road Grid"),
        ],
    ),
    (
        "310101020",
        "五里桥街道",
        "Wuliqiao Subdistrict",
        [("310101020001", "龙华东路网格", "East Longhua Road Grid")],
    ),
    (
        "310101021",
        "打浦桥街道",
        "Dapuqiao Subdistrict",
        [
            ("310101021001", "泰康路网格", "Taikang Road Grid"),
            ("310101021002", "建国中路网格", "Middle Jianguo Road Grid"),
            ("310101021003", "瞿溪路网格", "Quxi Road Grid"),
        ],
    ),
]
DAPUQIAO, TAIKANG_ROAD_GRID, QUXI_ROAD_GRID = "310101021", "310101021001", "310101021003"
NANJING_ROAD_GRID = "310101002001"

# role label, e-mail, full name; all share DEMO_PASSWORD.
LOGINS = {
    "merchant": (gettext_lazy("Merchant (shop owner)"), "merchant@demo.safeunit.cn", "林生"),
    "park": (gettext_lazy("Park office manager"), "park@demo.safeunit.cn", "陈静"),
    "estate": (gettext_lazy("Estate manager"), "estate@demo.safeunit.cn", "王建国"),
    "vendor": (gettext_lazy("Vendor"), "vendor@demo.safeunit.cn", "赵敏"),
    "reviewer": (gettext_lazy("Reviewer (authority)"), "reviewer@demo.safeunit.cn", "周立"),
    "fire_desk": (gettext_lazy("Fire station duty desk"), "firedesk@demo.safeunit.cn", "刘强"),
    "ops_centre": (gettext_lazy("Operations centre"), "opscentre@demo.safeunit.cn", "孙丽"),
    "admin": (gettext_lazy("Platform admin"), "admin@demo.safeunit.cn", "平台管理员"),
}
# Owners of organisations that need one but get no login of their own (unusable password).
OWNERS_WITHOUT_LOGIN = {
    "shops": ("tianzifang-shops@demo.safeunit.cn", "吴佳"),
    "building": ("nanjing-building@demo.safeunit.cn", "钱伟"),
    "property": ("chunjiang-property@demo.safeunit.cn", "郑华"),
}

PARK_DUTY_ROOM = ("田子坊管委会值班室", "管委会值班室", "021-55501154")
TIANZIFANG = {
    "name": "田子坊",
    "kind": Unit.Kind.PARK,
    # 154 wooden lane houses from the 1920s, 300+ merchants, only three ways out.
    "address": "上海市黄浦区泰康路210弄、248弄、274弄",
    "floor_area_m2": 72000,
    "floors": 3,
    "shops_inside": 300,
    "households": 0,
    "elevators": 0,
    "entrances": 3,
    "daily_visitors": 20000,
    "responsible_name": "陈静",
    "responsible_phone": "13916210001",
}
TIANZIFANG_CONTACTS = [
    ("陈静", "管委会主任", "13916210001"),
    PARK_DUTY_ROOM,
    ("黄志刚", "消防安全专管员", "13916210002"),
]
# The demo merchant's shop: a coffee shop, like 林生's in seeds/002 whose smoke detector
# called the fire station in the night.
MERCHANT_SHOP = ("林记咖啡", "泰康路210弄7号", 55, 2, 380, "林生")
# name, lane address, floor area m², floors, daily visitors, shop owner
ASSOCIATION_SHOPS = [
    ("石库门茶馆", "泰康路210弄3号", 85, 2, 260, "顾文华"),
    ("弄堂手工皂", "泰康路210弄9号", 24, 1, 180, "沈晓燕"),
    ("海上旗袍定制", "泰康路210弄12号", 46, 2, 120, "陆美琴"),
    ("手绘明信片", "泰康路210弄20号", 18, 1, 280, "何佳怡"),
    ("丝巾坊", "泰康路210弄25号", 26, 1, 160, "吕婷"),
    ("甜品小站", "泰康路210弄31号", 40, 1, 450, "罗敏"),
    ("田子坊小笼馆", "泰康路248弄5号", 96, 2, 600, "蒋国平"),
    ("蓝染布艺", "泰康路248弄16号", 32, 1, 150, "许兰"),
    ("弄堂摄影工作室", "泰康路248弄22号", 58, 3, 90, "韩磊"),
    ("紫砂壶艺", "泰康路248弄31号", 28, 1, 70, "曹振宇"),
    ("苏绣工坊", "泰康路248弄40号", 38, 2, 80, "施秀英"),
    ("老唱片行", "泰康路248弄47号", 34, 2, 110, "袁志明"),
    ("皮具手作", "泰康路248弄52号", 36, 2, 100, "贾立新"),
    ("陶艺体验坊", "泰康路274弄4号", 64, 2, 140, "冯雪"),
    ("琉璃小铺", "泰康路274弄10号", 20, 1, 210, "杨柳"),
    ("纸言文创", "泰康路274弄18号", 30, 2, 320, "朱晨"),
    ("弄堂酒吧", "泰康路274弄27号", 72, 2, 240, "马骏"),
    ("香氛蜡烛铺", "泰康路274弄33号", 22, 1, 190, "邓欣"),
    ("银饰手作", "泰康路274弄39号", 25, 1, 130, "彭浩"),
]
SHOP_STAFF = ["小李", "小张", "小王", "小刘", "小陈", "小杨", "小赵", "小黄", "小周", "小吴"]

CHUNJIANG = {
    "name": "春江小区",
    "kind": Unit.Kind.ESTATE,
    "address": "上海市黄浦区瞿溪路800弄",
    "floor_area_m2": 68000,
    "floors": 18,
    "shops_inside": 6,
    "households": 1120,
    "elevators": 16,
    "entrances": 3,
    "daily_visitors": 300,
    "responsible_name": "王建国",
    "responsible_phone": "13916210101",
}
CHUNJIANG_CONTACTS = [
    ("王建国", "小区经理", "13916210101"),
    ("春江物业监控中心", "物业监控室（24小时）", "021-55502200"),
    ("李秀兰", "居委会主任", "13916210102"),
]
NANJING_BUILDING = {
    "name": "南京大楼",
    "kind": Unit.Kind.BUILDING,
    # A protected 1936 building on the corner of Nanjing Road and Henan Road.
    "address": "上海市黄浦区南京东路233号",
    "floor_area_m2": 18600,
    "floors": 8,
    "shops_inside": 12,
    "households": 0,
    "elevators": 4,
    "entrances": 4,
    "daily_visitors": 6000,
    "responsible_name": "钱伟",
    "responsible_phone": "13916210201",
}
NANJING_BUILDING_CONTACTS = [
    ("钱伟", "大楼管理处经理", "13916210201"),
    ("南京大楼安保室", "安保值班（24小时）", "021-55502330"),
]

# organisation, owner key, responder name, kind, desk phone, region codes, on-duty people
RESPONDERS = [
    (
        "黄浦区消防救援支队",
        "fire_desk",
        "黄浦区消防救援支队 打浦桥站",
        Responder.Kind.FIRE_STATION,
        "021-55500119",
        [DAPUQIAO],
        [("刘强", "13916210301"), ("高翔", "13916210302"), ("谢军", "13916210303")],
    ),
    (
        "打浦桥街道城运中心",
        "ops_centre",
        "打浦桥街道城运中心",
        Responder.Kind.OPERATIONS_CENTRE,
        "021-55500021",
        [DAPUQIAO],
        [("孙丽", "13916210401"), ("唐海", "13916210402")],
    ),
    (
        "春江物业",
        "property",
        "春江物业监控中心",
        Responder.Kind.PROPERTY_MANAGEMENT,
        "021-55502200",
        [QUXI_ROAD_GRID],
        [("郑华", "13916210501"), ("梁波", "13916210502"), ("宋涛", "13916210503")],
    ),
]
ADDED_LABELS = {
    "regions": gettext_lazy("regions"),
    "users": gettext_lazy("users"),
    "organisations": gettext_lazy("organisations"),
    "units": gettext_lazy("units"),
    "contacts": gettext_lazy("emergency contacts"),
    "responders": gettext_lazy("responders"),
    "shifts": gettext_lazy("duty shifts"),
}
# Two twelve-hour shifts a day, in Shanghai time.
SHIFTS = [(8, 12, "白班"), (20, 12, "夜班")]


class Command(BaseCommand):
    help = "Load the Huangpu demo (Tianzifang, Chunjiang estate, Nanjing Building) and logins."

    def handle(self, *args, **options):
        started = time.monotonic()
        with transaction.atomic():
            created = DemoLoader(today=timezone.localdate()).load()
        elapsed = time.monotonic() - started
        added = [f"{ADDED_LABELS[key]} {count}" for key, count in created.items()]
        summary = ", ".join(added) or _("nothing")
        self.stdout.write(
            _("Demo data ready in %(seconds).1f s (added: %(summary)s).")
            % {"seconds": elapsed, "summary": summary}
        )
        call_command("load_marketplace_demo", stdout=self.stdout)  # standards, vendors, solutions
        call_command("load_billing_demo", stdout=self.stdout)  # an estate's paid order
        call_command("load_devices_demo", stdout=self.stdout)  # stock; the estate's order shipped
        call_command("load_alerts_demo", stdout=self.stdout)  # eight weeks of handled alerts
        call_command("load_oversight_demo", stdout=self.stdout)  # Tianzifang's programme
        self.stdout.write(login_table())


def login_table() -> str:
    """The logins, aligned for a terminal (Chinese characters are two columns wide)."""
    rows = [(_("Role"), _("E-mail"), _("Password"))]
    rows += [(str(role), email, DEMO_PASSWORD) for role, email, _name in LOGINS.values()]
    widths = [max(_columns(row[i]) for row in rows) for i in range(3)]
    lines = []
    for index, row in enumerate(rows):
        cells = [_pad(cell, width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _columns(text))


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


class DemoLoader:
    def __init__(self, *, today: date):
        self.today = today
        self.created: Counter[str] = Counter()
        self._password_hash = ""

    def load(self) -> Counter[str]:
        regions = self.region_tree()
        people = {key: self.login(key) for key in LOGINS}
        people |= {key: self.owner_without_login(key) for key in OWNERS_WITHOUT_LOGIN}

        self.tianzifang(regions, people)
        estate_org = self.organisation("春江小区", Kind.UNIT, owner=people["estate"])
        self.unit(
            estate_org,
            people["estate"],
            regions[QUXI_ROAD_GRID],
            None,
            CHUNJIANG,
            CHUNJIANG_CONTACTS,
        )
        building_org = self.organisation("南京大楼管理处", Kind.UNIT, owner=people["building"])
        self.unit(
            building_org,
            people["building"],
            regions[NANJING_ROAD_GRID],
            None,
            NANJING_BUILDING,
            NANJING_BUILDING_CONTACTS,
        )
        # A made-up vendor, signed up the way a vendor signs up (user, then organisation).
        self.organisation("申安消防科技（演示）", Kind.VENDOR, owner=people["vendor"])
        self.authority("黄浦区城市运行管理中心", regions[DISTRICT[0]], owner=people["reviewer"])
        for organisation_name, owner_key, *responder, on_duty in RESPONDERS:
            owner = people[owner_key]
            organisation = self.organisation(organisation_name, Kind.RESPONDER, owner=owner)
            desk = self.responder(organisation, owner, regions, *responder)
            self.roster(desk, by=owner, on_duty=on_duty)
        return self.created

    # Regions ---------------------------------------------------------------------------------

    def region_tree(self) -> dict[str, Region]:
        codes = [CITY[0], DISTRICT[0]]
        for code, _name, _name_en, grids in SUBDISTRICTS:
            codes += [code, *(grid[0] for grid in grids)]
        regions = {region.code: region for region in Region.objects.filter(code__in=codes)}

        def ensure(code, name, name_en, level, parent=None):
            if code not in regions:
                regions[code] = unit_services.region_create(
                    code=code, name=name, name_en=name_en, level=level, parent=parent
                )
                self.created["regions"] += 1
            return regions[code]

        city = ensure(*CITY, Region.Level.CITY)
        district = ensure(*DISTRICT, Region.Level.DISTRICT, city)
        for code, name, name_en, grids in SUBDISTRICTS:
            subdistrict = ensure(code, name, name_en, Region.Level.SUBDISTRICT, district)
            for grid in grids:
                ensure(*grid, Region.Level.GRID, subdistrict)
        return regions

    # People and organisations ----------------------------------------------------------------

    def password_hash(self) -> str:
        """Hashed once per run: hashing costs a third of a second, and every login shares it."""
        if not self._password_hash:
            self._password_hash = make_password(DEMO_PASSWORD)
        return self._password_hash

    def login(self, key: str) -> User:
        _role, email, full_name = LOGINS[key]
        user = User.objects.filter(email__iexact=email).first()
        if user is not None:
            return user
        user = account_services.user_create(email=email, password=None, full_name=full_name)
        user.password = self.password_hash()
        user.is_staff = user.is_superuser = key == "admin"
        user.save(update_fields=["password", "is_staff", "is_superuser"])
        self.created["users"] += 1
        return user

    def owner_without_login(self, key: str) -> User:
        email, full_name = OWNERS_WITHOUT_LOGIN[key]
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = account_services.user_create(email=email, password=None, full_name=full_name)
            self.created["users"] += 1
        return user

    def organisation(self, name: str, kind: str, *, owner: User) -> Organisation:
        organisation = Organisation.objects.filter(name=name, kind=kind).first()
        if organisation is None:
            organisation = account_services.organisation_create(name=name, kind=kind, owner=owner)
            self.created["organisations"] += 1
        return organisation

    def authority(self, name: str, region: Region, *, owner: User) -> Authority:
        authority = Authority.objects.filter(
            organisation__name=name, organisation__kind=Kind.AUTHORITY
        ).first()
        if authority is None:
            authority = unit_services.authority_create(name=name, region=region, owner=owner)
            self.created["organisations"] += 1
        return authority

    # Units -----------------------------------------------------------------------------------

    def tianzifang(self, regions: dict[str, Region], people: dict[str, User]) -> None:
        grid = regions[TAIKANG_ROAD_GRID]
        office = self.organisation("田子坊管委会", Kind.UNIT, owner=people["park"])
        park = self.unit(office, people["park"], grid, None, TIANZIFANG, TIANZIFANG_CONTACTS)
        merchant_org = self.organisation(MERCHANT_SHOP[0], Kind.UNIT, owner=people["merchant"])
        self.shop(merchant_org, people["merchant"], grid, park, MERCHANT_SHOP, number=0)
        association = self.organisation("田子坊商户", Kind.UNIT, owner=people["shops"])
        for number, shop in enumerate(ASSOCIATION_SHOPS, start=1):
            self.shop(association, people["shops"], grid, park, shop, number=number)

    def shop(self, organisation, by, grid, park, shop, *, number: int) -> Unit:
        name, address, area, floors, visitors, owner_name = shop
        owner_phone = f"139162106{number:02d}"
        facts = {
            "name": name,
            "kind": Unit.Kind.SHOP,
            "address": f"上海市黄浦区{address}",
            "floor_area_m2": area,
            "floors": floors,
            "entrances": 1,
            "daily_visitors": visitors,
            "responsible_name": owner_name,
            "responsible_phone": owner_phone,
        }
        contacts = [
            (owner_name, "店主", owner_phone),
            (SHOP_STAFF[number % len(SHOP_STAFF)], "店员", f"139162107{number:02d}"),
        ]
        if floors > 1:  # larger shops also name the park's duty room
            contacts.append(PARK_DUTY_ROOM)
        return self.unit(organisation, by, grid, park, facts, contacts)

    def unit(self, organisation, by, region, parent, facts, contacts) -> Unit:
        unit = Unit.objects.filter(organisation=organisation, name=facts["name"]).first()
        if unit is None:
            unit = unit_services.unit_create(
                organisation=organisation, by=by, region=region, parent=parent, **facts
            )
            self.created["units"] += 1
        known = set(unit.contacts.values_list("name", flat=True))
        for name, relation, phone in contacts:
            if name not in known:
                unit_services.contact_create(
                    unit=unit, by=by, name=name, relation=relation, phone=phone
                )
                self.created["contacts"] += 1
        return unit

    # Responders and rosters ------------------------------------------------------------------

    def responder(self, organisation, by, regions, name, kind, phone, codes) -> Responder:
        responder = Responder.objects.filter(name=name).first()
        if responder is None:
            responder = unit_services.responder_create(
                organisation=organisation,
                name=name,
                kind=kind,
                phone=phone,
                regions=[regions[code] for code in codes],
                by=by,
            )
            self.created["responders"] += 1
        return responder

    def roster(self, responder: Responder, *, by: User, on_duty: list[tuple[str, str]]) -> None:
        """Day and night shifts from today to a week ahead; days already rostered are kept."""
        tz = timezone.get_current_timezone()
        wanted = []
        for offset in range(ROSTER_DAYS):
            day = self.today + timedelta(days=offset)
            for index, (hour, hours, note) in enumerate(SHIFTS):
                starts_at = datetime(day.year, day.month, day.day, hour, tzinfo=tz)
                person = on_duty[(day.toordinal() * len(SHIFTS) + index) % len(on_duty)]
                wanted.append((starts_at, starts_at + timedelta(hours=hours), note, person))
        existing = set(
            DutyShift.objects.filter(
                responder=responder, starts_at__gte=wanted[0][0], starts_at__lte=wanted[-1][0]
            ).values_list("starts_at", flat=True)
        )
        for starts_at, ends_at, note, (contact_name, contact_phone) in wanted:
            if starts_at not in existing:
                unit_services.duty_shift_create(
                    responder=responder,
                    by=by,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    contact_name=contact_name,
                    contact_phone=contact_phone,
                    note=note,
                )
                self.created["shifts"] += 1
