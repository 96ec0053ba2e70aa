"""Reference data every installation has: alarm rules for every scenario and the default
escalation policies (issue 6). Seeded by migration; `alerts_seed` is idempotent, so a flushed
test database or a demo load can put the rows back, and an authority's edits are kept (a rule or
policy that exists is left as it is)."""

from alerts.models import Kind, Severity, Target

T = Target
CRITICAL, MAJOR, MINOR = Severity.CRITICAL, Severity.MAJOR, Severity.MINOR

# Event rules every scenario shares: the device's own health.
COMMON_EVENT_RULES = [
    ("battery", "", Kind.BATTERY, MINOR),
    ("tamper", "", Kind.TAMPER, MAJOR),
    ("fault", "", Kind.FAULT, MINOR),
    ("test", "", Kind.TEST, MINOR),
]

# scenario code → alarm causes (as devices report them in values.cause) → kind and severity;
# the cause "" catches an alarm whose cause the scenario does not list.
ALARM_RULES = {
    "fire": [
        ("smoke", Kind.FIRE, CRITICAL),
        ("heat", Kind.FIRE, CRITICAL),
        ("", Kind.FIRE, CRITICAL),
    ],
    "gas": [("gas", Kind.GAS, CRITICAL), ("", Kind.GAS, CRITICAL)],
    "electrical": [
        ("residual_current", Kind.ELECTRICAL, MAJOR),
        ("overheat", Kind.ELECTRICAL, MAJOR),
        ("arc", Kind.FIRE, CRITICAL),
        ("", Kind.ELECTRICAL, MAJOR),
    ],
    "ebike": [
        ("smoke", Kind.FIRE, CRITICAL),
        ("overcurrent", Kind.CHARGING, MAJOR),
        ("ebike_in_lift", Kind.CHARGING, MAJOR),
        ("", Kind.CHARGING, MAJOR),
    ],
    "height": [("thrown_object", Kind.THROWN_OBJECT, MAJOR), ("", Kind.THROWN_OBJECT, MAJOR)],
    "elevator": [
        ("entrapment", Kind.ENTRAPMENT, CRITICAL),
        ("", Kind.ENTRAPMENT, CRITICAL),
    ],
    "crowd": [("density", Kind.CROWD, MAJOR), ("", Kind.CROWD, MAJOR)],
    "structural": [
        ("tilt", Kind.STRUCTURAL, MAJOR),
        ("crack", Kind.STRUCTURAL, MAJOR),
        ("", Kind.STRUCTURAL, MAJOR),
    ],
    "elderly": [
        ("fall", Kind.VITALS, CRITICAL),
        ("vitals", Kind.VITALS, CRITICAL),
        ("sos", Kind.VITALS, CRITICAL),
        ("", Kind.VITALS, CRITICAL),
    ],
    "water": [("leak", Kind.WATER, MAJOR), ("", Kind.WATER, MAJOR)],
}

# scenario code → (metric, above|below, threshold, seconds, kind, severity)
THRESHOLD_RULES = {
    "fire": [("temperature_c", "above", 57.0, 0, Kind.FIRE, CRITICAL)],
    "gas": [("gas_lel_pct", "above", 25.0, 0, Kind.GAS, CRITICAL)],
    "electrical": [("residual_current_ma", "above", 300.0, 30, Kind.ELECTRICAL, MAJOR)],
    "elderly": [
        ("heart_rate_bpm", "above", 140.0, 60, Kind.VITALS, CRITICAL),
        ("heart_rate_bpm", "below", 40.0, 60, Kind.VITALS, CRITICAL),
    ],
    "crowd": [("people", "above", 3000.0, 300, Kind.CROWD, MAJOR)],
    "structural": [("tilt_deg", "above", 2.0, 600, Kind.STRUCTURAL, MAJOR)],
}

# The default policies. Life-safety scenarios tell the responder and the subdistrict operations
# centre at once; the others tell the unit's side first. Delays count from the alert's raising.
LIFE_SAFETY_STEPS = [
    (0, [T.UNIT, T.PARENT_UNIT, T.RESPONDER, T.OPERATIONS_CENTRE, T.CITY_PLATFORM]),
    (180, [T.UNIT_BACKUP, T.OPERATIONS_CENTRE]),
    (600, [T.DISTRICT]),
]
DEFAULT_STEPS = [
    (0, [T.UNIT, T.PARENT_UNIT, T.RESPONDER, T.CITY_PLATFORM]),
    (180, [T.UNIT_BACKUP, T.OPERATIONS_CENTRE]),
    (600, [T.DISTRICT]),
]


def alerts_seed() -> None:
    """Put back whatever of the reference rules and policies is missing."""
    from alerts.models import AlarmRule, EscalationPolicy, EscalationStep
    from marketplace.models import Scenario

    scenarios = {scenario.code: scenario for scenario in Scenario.objects.all()}
    existing = set(
        AlarmRule.objects.filter(device_model=None).values_list(
            "scenario__code", "trigger", "event_type", "cause", "metric"
        )
    )
    rules = []
    for code, scenario in scenarios.items():
        for cause, kind, severity in ALARM_RULES.get(code, []):
            if (code, "event", "alarm", cause, "") not in existing:
                rules.append(
                    AlarmRule(
                        scenario=scenario,
                        trigger="event",
                        event_type="alarm",
                        cause=cause,
                        kind=kind,
                        severity=severity,
                    )
                )
        for event_type, cause, kind, severity in COMMON_EVENT_RULES:
            if (code, "event", event_type, cause, "") not in existing:
                rules.append(
                    AlarmRule(
                        scenario=scenario,
                        trigger="event",
                        event_type=event_type,
                        cause=cause,
                        kind=kind,
                        severity=severity,
                    )
                )
        for metric, trigger, threshold, seconds, kind, severity in THRESHOLD_RULES.get(code, []):
            if (code, trigger, "", "", metric) not in existing:
                rules.append(
                    AlarmRule(
                        scenario=scenario,
                        trigger=trigger,
                        metric=metric,
                        threshold=threshold,
                        for_seconds=seconds,
                        kind=kind,
                        severity=severity,
                    )
                )
    AlarmRule.objects.bulk_create(rules)

    have = set(
        EscalationPolicy.objects.filter(authority=None, unit_kind="").values_list(
            "scenario__code", flat=True
        )
    )
    for code, scenario in [(None, None), *scenarios.items()]:
        if code in have:
            continue
        life_safety = bool(scenario and scenario.life_safety)
        name = f"{scenario.name_en} (default)" if scenario else "Platform default"
        policy = EscalationPolicy.objects.create(name=name, scenario=scenario)
        EscalationStep.objects.bulk_create(
            EscalationStep(policy=policy, position=position, delay_s=delay, targets=targets)
            for position, (delay, targets) in enumerate(
                LIFE_SAFETY_STEPS if life_safety else DEFAULT_STEPS
            )
        )
