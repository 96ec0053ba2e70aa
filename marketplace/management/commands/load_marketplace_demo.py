"""`manage.py load_marketplace_demo`: reference standards, vendors and certified solutions.

Everything goes through marketplace.services, so transitions, reviews, audit entries and
certificate numbers are what production would have: the Huangpu authority's reviewer writes and
publishes the standards and certifies each solution requirement by requirement. Vendors are
made up ("（演示）"); their licence numbers are well-formed unified social credit codes.

Objects are found by natural key first (published standard per scenario, organisation name,
vendor + model number, vendor + scenario + tier), in a handful of bulk look-ups, so a second run
writes nothing. A solution is built to its final state in one go, inside one transaction.
"""

import time
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import services as account_services
from accounts.models import Organisation, User
from marketplace import services
from marketplace.models import (
    BomLine,
    DeviceModel,
    ReferenceStandard,
    Requirement,
    RequirementVerdict,
    Review,
    Scenario,
    Solution,
    SolutionRevision,
    Vendor,
)
from marketplace.reference_data import scenarios_seed
from units.management.commands.load_demo import LOGINS, DemoLoader

YUAN = 100  # fen
AUTHORITY = "黄浦区城市运行管理中心"
DEMO_VENDOR = "申安消防科技（演示）"  # owned by the vendor login; load_demo creates it
CAPABILITY, PERFORMANCE, DOCUMENTATION = Requirement.Kind.values
ALL, MID_UP, HIGH = ["low", "mid", "high"], ["mid", "high"], ["high"]


class Req(NamedTuple):
    code: str
    text: str
    text_en: str
    kind: str
    tiers: list[str]
    threshold: int | None = None
    threshold_unit: str = ""


# scenario code → title, English title, modes, monitoring band (yuan), tier bands (yuan), reqs
# fmt: off
STANDARDS = {
    "fire": (
        "消防安全（烟感、温感）参考标准",
        "Fire safety (smoke and heat) reference standard",
        ["purchase", "lease"],
        (2, 15),
        {"low": (80, 200), "mid": (150, 400), "high": (300, 900)},
        [
            Req("FIRE-1", "探测烟雾并本地声光报警", "Detects smoke and alarms locally", CAPABILITY,
                ALL),
            Req("FIRE-2", "报警上传≤10 s", "Alarm reaches the platform within 10 s", PERFORMANCE,
                MID_UP, 10, "s"),
            Req("FIRE-3", "心跳间隔≤60 min", "Heartbeat at least every 60 min", PERFORMANCE, ALL,
                60, "min"),
            Req("FIRE-4", "烟温复合探测，联动声光警报器",
                "Combined smoke and heat detection linked to sounders", CAPABILITY, HIGH),
            Req("FIRE-5", "提供型式检验报告和3C认证证书", "Type-test report and CCC certificate",
                DOCUMENTATION, ALL),
        ],
    ),
    "gas": (
        "燃气泄漏参考标准",
        "Gas leak reference standard",
        ["purchase", "lease"],
        (3, 15),
        {"low": (120, 300), "mid": (250, 600), "high": (500, 1500)},
        [
            Req("GAS-1", "探测甲烷、液化石油气泄漏并报警", "Detects methane and LPG leaks",
                CAPABILITY, ALL),
            Req("GAS-2", "报警浓度≤25 %LEL", "Alarms at 25 %LEL or below", PERFORMANCE, ALL, 25,
                "%LEL"),
            Req("GAS-3", "联动关闭紧急切断阀", "Closes the emergency shut-off valve", CAPABILITY,
                MID_UP),
            Req("GAS-4", "报警上传≤10 s", "Alarm reaches the platform within 10 s", PERFORMANCE,
                MID_UP, 10, "s"),
            Req("GAS-5", "提供型式检验报告（GB 15322）", "Type-test report (GB 15322)",
                DOCUMENTATION, ALL),
        ],
    ),
    "electrical": (
        "电气火灾监控参考标准",
        "Electrical fire monitoring reference standard",
        ["purchase", "lease"],
        (5, 30),
        {"low": (300, 800), "mid": (600, 1500), "high": (1200, 3000)},
        [
            Req("ELEC-1", "监测剩余电流", "Monitors residual current", CAPABILITY, ALL),
            Req("ELEC-2", "剩余电流报警阈值≤300 mA", "Residual-current alarm at 300 mA or below",
                PERFORMANCE, ALL, 300, "mA"),
            Req("ELEC-3", "监测线缆温度（至少4路）", "Monitors cable temperature (4 circuits)",
                CAPABILITY, MID_UP),
            Req("ELEC-4", "支持远程分闸", "Trips the circuit remotely", CAPABILITY, HIGH),
            Req("ELEC-5", "提供型式检验报告（GB 14287）", "Type-test report (GB 14287)",
                DOCUMENTATION, ALL),
        ],
    ),
    "ebike": (
        "电动自行车充电安全参考标准",
        "E-bike charging safety reference standard",
        ["purchase", "lease"],
        (3, 20),
        {"low": (200, 500), "mid": (400, 900), "high": (800, 2000)},
        [
            Req("EBIKE-1", "过流、过温自动断电", "Cuts power on over-current or over-heating",
                CAPABILITY, ALL),
            Req("EBIKE-2", "异常断电响应≤3 s", "Cuts power within 3 s", PERFORMANCE, ALL, 3, "s"),
            Req("EBIKE-3", "充电区烟感联动", "Smoke detection in the charging area", CAPABILITY,
                MID_UP),
            Req("EBIKE-4", "提供型式检验报告和电气安全检测报告",
                "Type-test and electrical-safety reports", DOCUMENTATION, ALL),
        ],
    ),
    "height": (
        "高空抛物监测参考标准",
        "Objects thrown from height reference standard",
        ["purchase"],
        (10, 50),
        {"low": (1500, 3000), "mid": (2500, 5000), "high": (4500, 9000)},
        [
            Req("HEIGHT-1", "仰拍外立面，不拍摄住户室内", "Faces the façade, never into homes",
                CAPABILITY, ALL),
            Req("HEIGHT-2", "抛物检测识别率≥95 %", "Detects at least 95 % of thrown objects",
                PERFORMANCE, ALL, 95, "%"),
            Req("HEIGHT-3", "录像保存≥30 天", "Keeps footage for 30 days or more", PERFORMANCE,
                MID_UP, 30, "d"),
            Req("HEIGHT-4", "提供个人信息保护影响评估报告",
                "Personal-information protection impact assessment", DOCUMENTATION, ALL),
        ],
    ),
    "elevator": (
        "电梯安全监测参考标准",
        "Elevator safety monitoring reference standard",
        ["purchase", "lease"],
        (20, 80),
        {"low": (1500, 3500), "mid": (3000, 6000), "high": (5500, 12000)},
        [
            Req("LIFT-1", "检测困人并报警", "Detects entrapment and alarms", CAPABILITY, ALL),
            Req("LIFT-2", "困人报警上传≤30 s", "Entrapment alarm reaches the platform within 30 s",
                PERFORMANCE, ALL, 30, "s"),
            Req("LIFT-3", "监测门故障（开门走梯、门未关）", "Detects door faults", CAPABILITY,
                MID_UP),
            Req("LIFT-4", "轿厢语音对讲", "Two-way voice in the car", CAPABILITY, HIGH),
            Req("LIFT-5", "提供型式试验报告和安装告知书",
                "Type-test report and installation notice", DOCUMENTATION, ALL),
        ],
    ),
    "elderly": (
        "独居老人关爱参考标准",
        "Elderly care reference standard",
        ["purchase", "lease"],
        (10, 40),
        {"low": (200, 500), "mid": (400, 900), "high": (800, 2000)},
        [
            Req("CARE-1", "检测跌倒并报警", "Detects falls and alarms", CAPABILITY, ALL),
            Req("CARE-2", "SOS告警后电话回访≤3 min", "A call back within 3 min of an SOS",
                PERFORMANCE, ALL, 3, "min"),
            Req("CARE-3", "监测心率、血氧", "Monitors heart rate and SpO2", CAPABILITY, MID_UP),
            Req("CARE-4", "续航≥7 天", "Battery lasts 7 days or more", PERFORMANCE, ALL, 7, "d"),
            Req("CARE-5", "提供无线电发射设备型号核准证", "SRRC radio type approval", DOCUMENTATION,
                ALL),
        ],
    ),
    "water": (
        "漏水与内涝参考标准",
        "Water leak and flooding reference standard",
        ["purchase", "lease"],
        (1, 10),
        {"low": (60, 200), "mid": (150, 400), "high": (350, 900)},
        [
            Req("WATER-1", "探测漏水、积水并报警", "Detects leaks and standing water", CAPABILITY,
                ALL),
            Req("WATER-2", "报警上传≤60 s", "Alarm reaches the platform within 60 s", PERFORMANCE,
                ALL, 60, "s"),
            Req("WATER-3", "联动关闭进水阀", "Closes the supply valve", CAPABILITY, MID_UP),
            Req("WATER-4", "提供IP67防护等级检测报告", "IP67 test report", DOCUMENTATION, ALL),
        ],
    ),
}


# key → organisation, owner e-mail, owner name, licence, description, phone
VENDORS = {
    "shenan": (DEMO_VENDOR, LOGINS["vendor"][1], LOGINS["vendor"][2], "91310101MA1FDE01X4",
        "烟感、温感与电气火灾监测设备。", "021-60010001"),
    "huran": ("沪燃安全科技（演示）", "huran@demo.safeunit.cn", "钱海峰", "91310101MA1FDE0284",
        "餐饮与家庭燃气报警、紧急切断。", "021-60010002"),
    "pudian": ("浦电智联科技（演示）", "pudian@demo.safeunit.cn", "孔德明", "91310101MA1FDE036Y",
        "剩余电流、线缆温度监测与充电安全。", "021-60010003"),
    "lvqi": ("绿骑充电安全（演示）", "lvqi@demo.safeunit.cn", "方晓", "91310101MA1FDE044R",
        "小区车棚智能充电与火灾预防。", "021-60010004"),
    "tianyan": ("天眼守望科技（演示）", "tianyan@demo.safeunit.cn", "葛超", "91310101MA1FDE052L",
        "高空抛物仰拍摄像与智能识别。", "021-60010005"),
    "tian": ("梯安物联（演示）", "tian@demo.safeunit.cn", "段立群", "91310101MA1FDE060F",
        "电梯困人、门故障监测与对讲。", "021-60010006"),
    "yikang": ("颐康守护科技（演示）", "yikang@demo.safeunit.cn", "江慧", "91310101MA1FDE079C",
        "独居老人手环、跌倒告警与回访服务。", "021-60010007"),
    "shuishao": ("水哨传感（演示）", "shuishao@demo.safeunit.cn", "任涛", "91310101MA1FDE0877",
        "漏水感应绳与积水液位监测。", "021-60010008"),
    "huicheng": ("汇城物联（演示）", "huicheng@demo.safeunit.cn", "邱文", "91310101MA1FDE0952",
        "多场景物联网集成：烟感、燃气、水浸。", "021-60010009"),
}
# fmt: on

Cat, Proto = DeviceModel.Category, DeviceModel.Protocol


def metric(name: str, unit: str, low: float, high: float) -> dict:
    return {"name": name, "unit": unit, "min": low, "max": high}


SMOKE = metric("smoke_density", "dB/m", 0, 2)
TEMP = metric("temperature", "°C", -20, 120)
GAS = metric("methane", "%LEL", 0, 100)
RESIDUAL = metric("residual_current", "mA", 0, 1000)
CURRENT = metric("current", "A", 0, 16)
LEAK = metric("leak", "", 0, 1)


class DeviceSpec(NamedTuple):
    model_number: str
    name: str
    category: str
    scenarios: list[str]  # codes
    metrics: list[dict]
    heartbeat_interval_s: int
    heartbeat_grace_s: int
    battery_life_months: int | None
    protocol: str
    unit_cost: int  # yuan


# vendor → its device models, as DeviceSpec fields
# fmt: off
DEVICE_MODELS = {
    "shenan": [
        ("SA-S100", "NB-IoT 独立式烟感", Cat.SMOKE_DETECTOR, ["fire"], [SMOKE], 3600, 600, 60,
            Proto.HTTP, 60),
        ("SA-SH200", "烟温复合探测器", Cat.SMOKE_DETECTOR, ["fire"], [SMOKE, TEMP], 1800, 600, 48,
            Proto.HTTP, 150),
        ("SA-G10", "消防物联网关", Cat.GATEWAY, ["fire", "electrical"], [], 60, 60, None,
            Proto.MQTT, 400),
        ("SA-E300", "剩余电流监测仪", Cat.RESIDUAL_CURRENT, ["electrical"], [RESIDUAL, TEMP], 300,
            120, None, Proto.MQTT, 450),
    ],
    "huran": [
        ("HR-G1", "家用可燃气体探测器", Cat.GAS_DETECTOR, ["gas"], [GAS], 1800, 600, None,
            Proto.HTTP, 90),
        ("HR-G2", "商用燃气探测器（联动切断阀）", Cat.GAS_DETECTOR, ["gas"],
            [GAS, metric("valve_closed", "", 0, 1)], 300, 120, None, Proto.MQTT, 380),
        ("HR-GW", "燃气报警网关", Cat.GATEWAY, ["gas"], [], 60, 60, None, Proto.MQTT, 350),
    ],
    "pudian": [
        ("PD-R1", "单相剩余电流探测器", Cat.RESIDUAL_CURRENT, ["electrical"], [RESIDUAL], 300, 120,
            None, Proto.HTTP, 260),
        ("PD-R4", "四路电气火灾监控探测器", Cat.RESIDUAL_CURRENT, ["electrical"], [RESIDUAL, TEMP],
            300, 120, None, Proto.MQTT, 900),
        ("PD-C1", "电动车充电监测插座", Cat.CHARGING_MONITOR, ["ebike"], [CURRENT, TEMP], 300, 120,
            None, Proto.MQTT, 180),
    ],
    "lvqi": [
        ("LQ-C8", "八路智能充电监测器", Cat.CHARGING_MONITOR, ["ebike"],
            [CURRENT, metric("power", "W", 0, 3500), TEMP], 120, 60, None, Proto.MQTT, 600),
        ("LQ-S1", "车棚烟感", Cat.SMOKE_DETECTOR, ["ebike", "fire"], [SMOKE], 3600, 600, 60,
            Proto.HTTP, 90),
    ],
    "tianyan": [
        ("TY-H4", "高空抛物仰拍摄像机（400万像素）", Cat.CAMERA, ["height"],
            [metric("detections", "", 0, 1000)], 60, 60, None, Proto.THINGSBOARD, 1800),
        ("TY-H8", "高空抛物AI摄像机（800万像素）", Cat.CAMERA, ["height"],
            [metric("detections", "", 0, 1000)], 60, 60, None, Proto.THINGSBOARD, 3600),
        ("TY-NVR", "边缘存储主机", Cat.GATEWAY, ["height"], [metric("storage_used", "%", 0, 100)],
            300, 120, None, Proto.THINGSBOARD, 1500),
    ],
    "tian": [
        ("TA-L1", "电梯困人监测终端", Cat.ELEVATOR_MONITOR, ["elevator"],
            [metric("door_open", "", 0, 1), metric("car_floor", "", -5, 100)], 60, 30, None,
            Proto.MQTT, 1200),
        ("TA-L2", "电梯安全监测终端（带对讲）", Cat.ELEVATOR_MONITOR, ["elevator"],
            [metric("door_open", "", 0, 1), metric("car_floor", "", -5, 100)], 60, 30, None,
            Proto.MQTT, 2600),
    ],
    "yikang": [
        ("YK-W1", "跌倒报警手环", Cat.WRISTBAND, ["elderly"], [metric("battery", "%", 0, 100)], 900,
            300, None, Proto.HTTP, 150),
        ("YK-W2", "体征监测手环", Cat.WRISTBAND, ["elderly"],
            [metric("heart_rate", "bpm", 30, 220), metric("spo2", "%", 70, 100)], 600, 300, None,
            Proto.HTTP, 320),
    ],
    "shuishao": [
        ("SS-W1", "漏水感应绳", Cat.WATER_SENSOR, ["water"], [LEAK], 3600, 900, 36, Proto.HTTP, 45),
        ("SS-W2", "积水液位传感器", Cat.WATER_SENSOR, ["water"], [metric("level", "mm", 0, 500)],
            1800, 600, 36, Proto.HTTP, 120),
    ],
    "huicheng": [
        ("HC-S10", "独立式光电烟感（十年电池）", Cat.SMOKE_DETECTOR, ["fire"], [SMOKE], 3600, 600,
            120, Proto.HTTP, 55),
        ("HC-G10", "可燃气体探测器", Cat.GAS_DETECTOR, ["gas"], [GAS], 1800, 600, None, Proto.HTTP,
            80),
        ("HC-W10", "水浸传感器", Cat.WATER_SENSOR, ["water"], [LEAK], 3600, 900, 36, Proto.HTTP,
            40),
        ("HC-GW", "多协议物联网关", Cat.GATEWAY, ["fire", "gas", "water"], [], 60, 60, None,
            Proto.MQTT, 300),
    ],
}
# fmt: on

Rule = BomLine.Rule


class Lease(NamedTuple):
    monthly: int  # yuan per device
    min_months: int
    deposit: int
    buyout: int


class Offer(NamedTuple):
    vendor: str
    scenario: str
    tier: str
    name: str
    name_en: str
    description: str
    description_en: str
    price: int  # yuan per device
    installation: int
    lease: Lease | None
    monitoring: int
    warranty_months: int
    repair_sla_hours: int
    bom: list[tuple[str, str, int, int | None]]  # model number, rule, quantity, N m²
    end: str = "certified"  # how far the workflow goes; see SolutionBuilder.ENDS


PER_30, PER_20 = (Rule.PER_AREA, 1, 30), (Rule.PER_AREA, 1, 20)
# fmt: off
OFFERS = [
    Offer("shenan", "fire", "low", "小店烟感套餐", "Small-shop smoke kit",
        "每30 m²一只NB-IoT烟感，免布线，电池五年。",
        "One NB-IoT smoke detector per 30 m²; no wiring, five-year battery.", 128, 20,
        Lease(6, 12, 30, 20), 5, 24, 48, [("SA-S100", Rule.PER_AREA, 1, 30)]),
    Offer("shenan", "fire", "mid", "烟温复合守护", "Smoke-and-heat guard",
        "烟温复合探测，网关集中上传，报警10秒内到平台。",
        "Smoke and heat detection through a gateway; alarms reach the platform within 10 s.", 280,
        30, Lease(10, 12, 50, 40), 8, 36, 24,
        [("SA-SH200", Rule.PER_AREA, 1, 30), ("SA-G10", Rule.FIXED, 1, None)], end="superseded"),
    Offer("shenan", "fire", "high", "全楼烟温联动", "Whole-building linked detection",
        "每20 m²一只复合探测器，每层一台网关联动声光警报。",
        "A combined detector per 20 m² and a gateway per floor driving the sounders.", 520, 60,
        None, 12, 60, 8, [("SA-SH200", Rule.PER_AREA, 1, 20), ("SA-G10", Rule.PER_FLOOR, 1, None)]),
    Offer("huicheng", "fire", "mid", "社区烟感托管", "Community smoke monitoring",
        "十年电池光电烟感，每40 m²一只，含托管值守。",
        "Ten-year-battery optical detectors, one per 40 m², monitoring included.", 190, 25,
        Lease(7, 24, 40, 15), 6, 36, 24,
        [("HC-S10", Rule.PER_AREA, 1, 40), ("HC-GW", Rule.FIXED, 1, None)]),
    Offer("huran", "gas", "low", "餐饮燃气报警基础版", "Restaurant gas alarm, basic",
        "每层一只可燃气体探测器，本地报警并推送手机。",
        "One gas detector per floor; local alarm and a push to your phone.", 180, 30, None, 4, 24,
        48, [("HR-G1", Rule.PER_FLOOR, 1, None)]),
    Offer("huran", "gas", "mid", "燃气报警联动切断", "Gas alarm with shut-off",
        "探测到泄漏自动关闭紧急切断阀。",
        "Closes the emergency shut-off valve when a leak is detected.", 450, 80,
        Lease(18, 24, 100, 60), 8, 36, 24,
        [("HR-G2", Rule.PER_FLOOR, 1, None), ("HR-GW", Rule.FIXED, 1, None)]),
    Offer("huran", "gas", "high", "燃气全流程守护", "End-to-end gas protection",
        "每50 m²一只商用探测器，每层网关，8小时上门维修。",
        "A commercial detector per 50 m², a gateway per floor, repairs within 8 h.", 980, 120,
        Lease(35, 36, 200, 120), 12, 60, 8,
        [("HR-G2", Rule.PER_AREA, 1, 50), ("HR-GW", Rule.PER_FLOOR, 1, None)]),
    Offer("huicheng", "gas", "low", "燃气探测托管", "Managed gas detection",
        "每层一只探测器，含托管值守。", "One detector per floor, monitoring included.", 150, 20,
        Lease(6, 12, 30, 10), 5, 24, 48, [("HC-G10", Rule.PER_FLOOR, 1, None)], end="suspended"),
    Offer("pudian", "electrical", "low", "单相电气火灾监测", "Single-phase electrical monitoring",
        "每层配电箱一只剩余电流探测器。",
        "A residual-current detector at each floor's distribution board.", 420, 80, None, 10, 24,
        48, [("PD-R1", Rule.PER_FLOOR, 1, None)]),
    Offer("pudian", "electrical", "mid", "四路电气火灾监控", "Four-circuit electrical monitoring",
        "剩余电流加四路线缆温度。", "Residual current plus four cable-temperature circuits.", 1100,
        150, Lease(40, 24, 200, 150), 18, 36, 24, [("PD-R4", Rule.PER_FLOOR, 1, None)]),
    Offer("pudian", "electrical", "high", "电气火灾监控与远程分闸", "Monitoring with remote trip",
        "每层两台四路探测器，异常时远程分闸。",
        "Two four-circuit detectors per floor; trips the circuit remotely.", 2200, 300,
        Lease(80, 36, 400, 300), 25, 60, 8, [("PD-R4", Rule.PER_FLOOR, 2, None)]),
    Offer("shenan", "electrical", "mid", "电气火灾监测套装", "Electrical fire monitoring kit",
        "剩余电流与温度监测，与消防网关共用。",
        "Residual current and temperature, sharing the fire gateway.", 900, 120, None, 15, 36, 24,
        [("SA-E300", Rule.PER_FLOOR, 1, None), ("SA-G10", Rule.FIXED, 1, None)]),
    Offer("pudian", "ebike", "low", "充电插座监测", "Charging-socket monitoring",
        "每个出入口车棚四个监测插座，过流过温断电。",
        "Four monitored sockets per bike shed; cuts power on over-current or heat.", 320, 50, None,
        5, 24, 48, [("PD-C1", Rule.PER_ENTRANCE, 4, None)]),
    Offer("lvqi", "ebike", "mid", "车棚充电监测", "Bike-shed charging monitoring",
        "每个车棚两台八路监测器和一只烟感。",
        "Two eight-way monitors and a smoke detector per bike shed.", 650, 100,
        Lease(25, 24, 100, 80), 8, 36, 24,
        [("LQ-C8", Rule.PER_ENTRANCE, 2, None), ("LQ-S1", Rule.PER_ENTRANCE, 1, None)]),
    Offer("lvqi", "ebike", "high", "智能充电棚", "Smart charging shed",
        "四台八路监测器、两只烟感，8小时维修。",
        "Four eight-way monitors and two smoke detectors; repairs within 8 h.", 1500, 200,
        Lease(55, 36, 300, 200), 15, 60, 8,
        [("LQ-C8", Rule.PER_ENTRANCE, 4, None), ("LQ-S1", Rule.PER_ENTRANCE, 2, None)]),
    Offer("tianyan", "height", "low", "高空抛物监测基础版", "Thrown-object monitoring, basic",
        "每个出入口一台仰拍摄像机。", "One upward camera per entrance.", 2200, 300, None, 15, 24,
        48, [("TY-H4", Rule.PER_ENTRANCE, 1, None)], end="submitted"),
    Offer("tianyan", "height", "mid", "高空抛物监测标准版", "Thrown-object monitoring",
        "每个出入口两台仰拍摄像机，录像保存30天。",
        "Two upward cameras per entrance; footage kept for 30 days.", 3800, 500, None, 30, 36, 24,
        [("TY-H4", Rule.PER_ENTRANCE, 2, None), ("TY-NVR", Rule.FIXED, 1, None)]),
    Offer("tianyan", "height", "high", "高空抛物AI追溯", "AI thrown-object tracing",
        "800万像素AI识别，自动回溯抛物楼层。",
        "8 MP AI detection that traces the floor an object came from.", 7200, 800, None, 45, 60, 8,
        [("TY-H8", Rule.PER_ENTRANCE, 2, None), ("TY-NVR", Rule.FIXED, 1, None)]),
    Offer("tian", "elevator", "low", "电梯困人监测", "Entrapment monitoring",
        "每部电梯一台困人监测终端。", "One entrapment monitor per elevator.", 2200, 300,
        Lease(70, 24, 400, 300), 30, 24, 24, [("TA-L1", Rule.PER_ELEVATOR, 1, None)]),
    Offer("tian", "elevator", "mid", "电梯困人与门故障监测", "Entrapment and door faults",
        "困人与门故障监测，8小时维修。",
        "Entrapment and door-fault monitoring; repairs within 8 h.", 4200, 400,
        Lease(130, 36, 800, 600), 45, 36, 8, [("TA-L1", Rule.PER_ELEVATOR, 1, None)],
        end="revision_submitted"),
    Offer("tian", "elevator", "high", "电梯安全全功能", "Full elevator safety",
        "困人、门故障监测与轿厢对讲，4小时维修。",
        "Entrapment, door faults and two-way voice in the car; repairs within 4 h.", 8500, 600,
        Lease(260, 36, 1500, 1200), 70, 60, 4, [("TA-L2", Rule.PER_ELEVATOR, 1, None)]),
    Offer("yikang", "elderly", "low", "独居老人跌倒守护", "Fall protection for elders",
        "首批20位老人，跌倒与SOS告警，3分钟电话回访。",
        "For the first 20 elders: fall and SOS alarms, a call back within 3 min.", 280, 0,
        Lease(12, 12, 50, 60), 20, 12, 48, [("YK-W1", Rule.FIXED, 20, None)]),
    Offer("yikang", "elderly", "mid", "体征与跌倒守护", "Vitals and fall protection",
        "心率、血氧监测加跌倒告警。", "Heart rate and SpO2 monitoring plus fall alarms.", 650, 0,
        Lease(25, 12, 100, 150), 30, 24, 24, [("YK-W2", Rule.FIXED, 20, None)]),
    Offer("yikang", "elderly", "high", "全天候健康守护", "Round-the-clock care",
        "体征监测、跌倒告警、家属联动与月度健康报告。",
        "Vitals, fall alarms, family alerts and a monthly health report.", 1500, 0,
        Lease(55, 12, 200, 300), 35, 36, 8, [("YK-W2", Rule.FIXED, 20, None)], end="in_review"),
    Offer("shuishao", "water", "low", "漏水报警基础版", "Leak alarm, basic",
        "每50 m²一根漏水感应绳。", "One leak-sensing cable per 50 m².", 120, 20, None, 3, 24, 48,
        [("SS-W1", Rule.PER_AREA, 1, 50)]),
    Offer("shuishao", "water", "mid", "漏水与积水监测", "Leak and standing-water monitoring",
        "感应绳加出入口积水液位传感器。", "Leak cables plus a water-level sensor at each entrance.",
        280, 40, Lease(10, 12, 40, 30), 5, 36, 24,
        [("SS-W1", Rule.PER_AREA, 1, 50), ("SS-W2", Rule.PER_ENTRANCE, 1, None)]),
    Offer("huicheng", "water", "low", "水浸托管", "Managed flood sensing",
        "每层两只水浸传感器，含托管值守。", "Two flood sensors per floor, monitoring included.", 90,
        15, Lease(4, 12, 20, 10), 3, 24, 48, [("HC-W10", Rule.PER_FLOOR, 2, None)]),
    Offer("shenan", "electrical", "high", "电气火灾监控专业版", "Electrical monitoring, pro",
        "每层两台监测仪，支持远程分闸。", "Two monitors per floor, with remote trip.",
        1800, 200, None, 20, 60, 8, [("SA-E300", Rule.PER_FLOOR, 2, None)], end="draft"),
]
# fmt: on

# A reviewer's note per kind of requirement met.
NOTES = {
    Requirement.Kind.CAPABILITY: "现场演示通过。",
    Requirement.Kind.PERFORMANCE: "第三方检测报告实测值优于阈值。",
    Requirement.Kind.DOCUMENTATION: "报告原件已核验，在有效期内。",
}
SUSPEND_REASON = "抽检发现HC-G10批次报警浓度偏高，暂停认证待复检。"
ADDED_LABELS = {
    "standards": gettext_lazy("reference standards"),
    "users": gettext_lazy("users"),
    "vendors": gettext_lazy("vendors"),
    "device_models": gettext_lazy("device models"),
    "solutions": gettext_lazy("solutions"),
}


class Command(BaseCommand):
    help = "Load the marketplace demo: standards, vendors, device models, certified solutions."

    def handle(self, *args, **options):
        started = time.monotonic()
        with transaction.atomic():
            created = MarketplaceDemoLoader(today=timezone.localdate()).load()
        added = ", ".join(f"{ADDED_LABELS[key]} {count}" for key, count in created.items())
        self.stdout.write(
            _("Marketplace demo ready in %(seconds).1f s (added: %(added)s).")
            % {"seconds": time.monotonic() - started, "added": added or _("nothing")}
        )
        self.stdout.write(summary())


def summary() -> str:
    revisions = SolutionRevision.objects.values_list("status", flat=True)
    statuses = Counter(revisions)
    Status = SolutionRevision.Status
    return _(
        "Marketplace: %(standards)s published standards, %(vendors)s vendors, %(certified)s "
        "certified solutions (%(suspended)s suspended), %(queue)s revisions waiting for review."
    ) % {
        "standards": ReferenceStandard.objects.filter(status="published").count(),
        "vendors": Vendor.objects.count(),
        "certified": statuses[Status.CERTIFIED],
        "suspended": statuses[Status.SUSPENDED],
        "queue": statuses[Status.SUBMITTED] + statuses[Status.IN_REVIEW],
    }


class MarketplaceDemoLoader:
    def __init__(self, *, today: date):
        self.today = today
        self.created: Counter[str] = Counter()
        self.owners: dict[int, User] = {}

    def load(self) -> Counter[str]:
        reviewer, authority = self.reviewer()
        scenarios_seed(Scenario)
        scenarios = {scenario.code: scenario for scenario in Scenario.objects.all()}
        published = set(
            ReferenceStandard.objects.filter(status=ReferenceStandard.Status.PUBLISHED).values_list(
                "scenario__code", flat=True
            )
        )
        for code in STANDARDS.keys() - published:
            self.standard(scenarios[code], authority, reviewer)
        vendors = self.vendors()
        models = self.device_models(vendors, scenarios)
        built = set(
            Solution.objects.filter(vendor__in=vendors.values()).values_list(
                "vendor_id", "scenario__code", "tier"
            )
        )
        for offer in OFFERS:
            vendor = vendors[offer.vendor]
            if (vendor.pk, offer.scenario, offer.tier) not in built:
                owner = self.owner_of(vendor)
                SolutionBuilder(offer, vendor, owner, reviewer, self.today).build(
                    scenarios[offer.scenario], models
                )
                self.created["solutions"] += 1
        return self.created

    def reviewer(self) -> tuple[User, Organisation]:
        """The Huangpu authority and its reviewer login; load_demo makes them when missing."""
        email = LOGINS["reviewer"][1]
        authority = Organisation.objects.filter(
            name=AUTHORITY, kind=Organisation.Kind.AUTHORITY, memberships__user__email=email
        ).first()
        if authority is None or not Organisation.objects.filter(name=DEMO_VENDOR).exists():
            DemoLoader(today=self.today).load()
            authority = Organisation.objects.get(name=AUTHORITY, kind=Organisation.Kind.AUTHORITY)
        return User.objects.get(email=email), authority

    def standard(self, scenario, authority, reviewer) -> ReferenceStandard:
        title, title_en, modes, (fee_min, fee_max), bands, requirements = STANDARDS[scenario.code]
        standard = services.standard_create(
            scenario=scenario,
            authority=authority,
            by=reviewer,
            title=title,
            title_en=title_en,
            allowed_modes=modes,
            monitoring_fee_min=fee_min * YUAN,
            monitoring_fee_max=fee_max * YUAN,
        )
        for requirement in requirements:
            fields = requirement._asdict()
            fields["threshold"] = _decimal(requirement.threshold)
            services.standard_requirement_add(standard=standard, by=reviewer, **fields)
        for tier, (low, high) in bands.items():
            services.standard_band_set(
                standard=standard,
                by=reviewer,
                tier=tier,
                price_min=low * YUAN,
                price_max=high * YUAN,
            )
        self.created["standards"] += 1
        return services.standard_publish(standard=standard, by=reviewer)

    def vendors(self) -> dict[str, Vendor]:
        names = {spec[0]: key for key, spec in VENDORS.items()}
        organisations = {
            names[organisation.name]: organisation
            for organisation in Organisation.objects.filter(
                kind=Organisation.Kind.VENDOR, name__in=names
            ).select_related("vendor")
        }
        vendors = {}
        for key, (name, email, owner_name, licence, description, phone) in VENDORS.items():
            organisation = organisations.get(key)
            existing = getattr(organisation, "vendor", None) if organisation else None
            if existing is not None:
                vendors[key] = existing
                continue
            owner = self.owner(email, owner_name)
            if organisation is None:
                organisation = account_services.organisation_create(
                    name=name, kind=Organisation.Kind.VENDOR, owner=owner
                )
            vendors[key] = services.vendor_profile_save(
                organisation=organisation,
                by=owner,
                licence_number=licence,
                description=description,
                contact_name=owner_name,
                contact_phone=phone,
                contact_email=email,
            )
            self.created["vendors"] += 1
        return vendors

    def owner(self, email: str, full_name: str) -> User:
        """Vendors other than the demo login get an owner without a password."""
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = account_services.user_create(email=email, password=None, full_name=full_name)
            self.created["users"] += 1
        return user

    def owner_of(self, vendor: Vendor) -> User:
        if vendor.pk not in self.owners:
            membership = vendor.organisation.memberships.select_related("user").get(role="owner")
            self.owners[vendor.pk] = membership.user
        return self.owners[vendor.pk]

    def device_models(self, vendors, scenarios) -> dict[str, DeviceModel]:
        models = {
            model.model_number: model
            for model in DeviceModel.objects.filter(vendor__in=vendors.values())
        }
        for key, rows in DEVICE_MODELS.items():
            vendor = vendors[key]
            for spec in map(DeviceSpec._make, rows):
                if spec.model_number in models:
                    continue
                fields = spec._asdict()
                fields["scenarios"] = [scenarios[code] for code in spec.scenarios]
                fields["unit_cost"] = spec.unit_cost * YUAN
                models[spec.model_number] = services.device_model_save(
                    vendor=vendor, by=self.owner_of(vendor), **fields
                )
                self.created["device_models"] += 1
        return models


def _decimal(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class SolutionBuilder:
    """Takes one offer through the real workflow to its `end`."""

    ENDS = {
        "draft",
        "submitted",
        "in_review",
        "certified",
        "suspended",
        "superseded",  # r1 certified, then r2 (cheaper) certified: r1 is superseded
        "revision_submitted",  # r1 certified, r2 submitted: the certified one stays listed
    }

    def __init__(self, offer: Offer, vendor: Vendor, owner: User, reviewer: User, today: date):
        assert offer.end in self.ENDS, offer.end
        self.offer, self.vendor, self.owner = offer, vendor, owner
        self.reviewer, self.today = reviewer, today

    def build(self, scenario: Scenario, models: dict[str, DeviceModel]) -> SolutionRevision:
        offer = self.offer
        lease = offer.lease
        revision = services.solution_create(
            vendor=self.vendor,
            by=self.owner,
            scenario=scenario,
            tier=offer.tier,
            bom=[
                {
                    "device_model": models[number],
                    "rule": rule,
                    "quantity": quantity,
                    "area_step_m2": step,
                }
                for number, rule, quantity, step in offer.bom
            ],
            name=offer.name,
            name_en=offer.name_en,
            description=offer.description,
            description_en=offer.description_en,
            purchase_price=offer.price * YUAN,
            installation_fee=offer.installation * YUAN,
            lease_monthly_fee=lease.monthly * YUAN if lease else None,
            lease_min_months=lease.min_months if lease else None,
            lease_deposit=lease.deposit * YUAN if lease else None,
            lease_buyout_price=lease.buyout * YUAN if lease else None,
            monitoring_fee=offer.monitoring * YUAN,
            warranty_months=offer.warranty_months,
            repair_sla_hours=offer.repair_sla_hours,
        )
        if offer.end == "draft":
            return revision
        revision = services.revision_submit(revision=revision, by=self.owner)
        if offer.end == "submitted":
            return revision
        if offer.end == "in_review":
            review = services.review_start(revision=revision, by=self.reviewer)
            self.verdicts(review, limit=2)  # the reviewer is part-way through the checklist
            return revision
        revision = self.certify(revision)
        if offer.end == "suspended":
            return services.certificate_suspend(
                revision=revision, by=self.reviewer, reason=SUSPEND_REASON
            )
        if offer.end in ("superseded", "revision_submitted"):
            return self.second_revision(revision)
        return revision

    def certify(self, revision: SolutionRevision) -> SolutionRevision:
        review = services.review_start(revision=revision, by=self.reviewer)
        self.verdicts(review)
        return services.review_decide(
            review=review,
            by=self.reviewer,
            decision=Review.Decision.CERTIFY,
            reasons="各项要求经核验均满足，价格与监测费在本档区间内。",
            today=self.today,
        )

    def verdicts(self, review: Review, *, limit: int | None = None) -> None:
        """Met, with the evidence named, for each requirement the tier must meet."""
        required = [
            requirement
            for requirement in review.revision.standard.requirements.all()
            if self.offer.tier in requirement.tiers
        ]
        for requirement in required[:limit]:
            services.review_verdict_set(
                review=review,
                by=self.reviewer,
                requirement=requirement,
                verdict=RequirementVerdict.Verdict.MET,
                note=NOTES[requirement.kind],
            )

    def second_revision(self, revision: SolutionRevision) -> SolutionRevision:
        draft = services.revision_new_draft(solution=revision.solution, by=self.owner)
        if self.offer.end == "superseded":
            draft = services.revision_update(
                revision=draft,
                by=self.owner,
                purchase_price=revision.purchase_price - 20 * YUAN,
                description=self.offer.description + "第二版：单价下调20元。",
                description_en=self.offer.description_en + " Revision 2: ¥20 cheaper.",
            )
            return self.certify(services.revision_submit(revision=draft, by=self.owner))
        draft = services.revision_update(
            revision=draft,
            by=self.owner,
            repair_sla_hours=4,
            description=self.offer.description + "第二版：维修响应缩短至4小时。",
            description_en=self.offer.description_en + " Revision 2: repairs within 4 h.",
        )
        return services.revision_submit(revision=draft, by=self.owner)
