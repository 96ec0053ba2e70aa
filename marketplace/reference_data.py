"""Reference data every installation has: the safety scenarios (DESIGN §1, seeds/002).

Seeded by migration 0003; `scenarios_seed` is idempotent, so a test database that was
flushed (transactional tests) or a demo load can put the rows back.
"""

# code, name, English name, unit kinds, life safety, description (zh), description (en)
SCENARIOS = [
    (
        "fire",
        "消防安全",
        "Fire safety",
        ["shop", "estate", "scenic_area", "building", "park"],
        True,
        "烟感、温感探测，火情第一时间告警。",
        "Smoke and heat detection with instant alarms.",
    ),
    (
        "gas",
        "燃气泄漏",
        "Gas leak",
        ["shop", "estate", "building", "park"],
        True,
        "可燃气体探测与联动切断。",
        "Combustible gas detection with shut-off.",
    ),
    (
        "electrical",
        "电气火灾",
        "Electrical fire",
        ["shop", "estate", "building", "park", "scenic_area"],
        True,
        "剩余电流、线缆温度监测。",
        "Residual-current and cable temperature monitoring.",
    ),
    (
        "ebike",
        "电动自行车充电安全",
        "E-bike charging safety",
        ["estate", "building", "park"],
        True,
        "集中充电监测，防止违规充电起火。",
        "Charging monitoring against charging fires.",
    ),
    (
        "height",
        "高空抛物",
        "Objects thrown from height",
        ["estate", "building"],
        False,
        "仰拍摄像头与抛物检测，只拍外立面。",
        "Upward cameras with detection, facing the façade only.",
    ),
    (
        "elevator",
        "电梯安全",
        "Elevator safety",
        ["estate", "building", "park", "scenic_area"],
        True,
        "困人、门故障监测。",
        "Entrapment and door-fault monitoring.",
    ),
    (
        "crowd",
        "大客流安全",
        "Large-crowd safety",
        ["scenic_area", "park"],
        False,
        "客流计数与拥挤预警。",
        "People counting and crowding warnings.",
    ),
    (
        "structural",
        "房屋结构安全",
        "Structural safety",
        ["estate", "building", "park", "scenic_area"],
        False,
        "倾斜、裂缝传感器监测老旧建筑。",
        "Tilt and crack sensors for old buildings.",
    ),
    (
        "elderly",
        "独居老人关爱",
        "Elderly care",
        ["estate"],
        True,
        "手环体征与跌倒告警，三分钟内电话回访。",
        "Wristband vitals and falls, with a call within three minutes.",
    ),
    (
        "water",
        "漏水与内涝",
        "Water leak and flooding",
        ["shop", "estate", "building", "park", "scenic_area"],
        False,
        "漏水、积水传感器。",
        "Leak and standing-water sensors.",
    ),
]


def scenarios_seed(Scenario) -> None:
    """`Scenario` is passed in so that the migration can use its historical model. Writes
    only what is missing or different, so a second run changes nothing."""
    existing = {scenario.code: scenario for scenario in Scenario.objects.all()}
    for position, (code, name, name_en, kinds, life_safety, text, text_en) in enumerate(SCENARIOS):
        values = {
            "name": name,
            "name_en": name_en,
            "unit_kinds": kinds,
            "life_safety": life_safety,
            "description": text,
            "description_en": text_en,
            "position": position,
        }
        row = existing.get(code)
        if row is None:
            Scenario.objects.create(code=code, **values)
        elif any(getattr(row, field) != value for field, value in values.items()):
            Scenario.objects.filter(pk=row.pk).update(**values)
