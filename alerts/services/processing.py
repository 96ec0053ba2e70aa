"""From what devices report to alerts (DESIGN §3.4).

`events_process` consumes the devices' event outbox: in one transaction it claims a batch of
events (SKIP LOCKED, so concurrent runs split the work), opens or updates their alerts (one open
alert per device and kind: a repeat only counts) and writes the first escalation step's
notification rows; after commit the rows are queued for sending. If the worker dies before the
commit, the events are unclaimed again; after it, the notification rows are in the database and
the retry pass sends them. `thresholds_evaluate` does the same for readings that stay past a
threshold rule.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.models import (
    LIFE_SAFETY_KINDS,
    AlarmRule,
    Alert,
    AlertEntry,
    EscalationPolicy,
    Kind,
    ProcessorState,
    Severity,
    ThresholdBreach,
)
from alerts.services import escalation
from devices.models import Device
from devices.services import device_events_claim
from marketplace.models import Scenario

logger = logging.getLogger(__name__)

# Events per transaction: an alert's people are told when its transaction commits, so a
# batch is kept small (about 25 ms of routing per new alert); a burst is drained batch after
# batch by every worker at once (SKIP LOCKED).
BATCH = 8

# An alarm no rule describes is still an alarm: its kind follows the device's scenario.
SCENARIO_KIND = {
    "fire": Kind.FIRE,
    "gas": Kind.GAS,
    "electrical": Kind.ELECTRICAL,
    "ebike": Kind.CHARGING,
    "height": Kind.THROWN_OBJECT,
    "elevator": Kind.ENTRAPMENT,
    "crowd": Kind.CROWD,
    "structural": Kind.STRUCTURAL,
    "elderly": Kind.VITALS,
    "water": Kind.WATER,
}
EVENT_KIND = {
    "battery": (Kind.BATTERY, Severity.MINOR),
    "tamper": (Kind.TAMPER, Severity.MAJOR),
    "fault": (Kind.FAULT, Severity.MINOR),
    "test": (Kind.TEST, Severity.MINOR),
}


@dataclass(frozen=True)
class Verdict:
    kind: str
    severity: str
    rule: AlarmRule | None
    scenario: Scenario | None


class Rules:
    """The active rules, loaded once per batch, looked up per device model and scenario."""

    def __init__(self):
        self.event_rules = list(
            AlarmRule.objects.filter(active=True, trigger=AlarmRule.Trigger.EVENT).select_related(
                "scenario"
            )
        )

    def verdict(self, device: Device, event_type: str, cause: str) -> Verdict:
        scenarios = list(device.device_model.scenarios.all())
        scenario_ids = {scenario.pk for scenario in scenarios}
        candidates = [
            rule
            for rule in self.event_rules
            if rule.event_type == event_type
            and rule.scenario_id in scenario_ids
            and rule.device_model_id in (None, device.device_model_id)
            and rule.cause in ("", cause)
        ]
        # The most specific rule: for this model, then for this cause.
        candidates.sort(key=lambda rule: (rule.device_model_id is None, rule.cause == ""))
        if candidates:
            rule = candidates[0]
            return Verdict(rule.kind, rule.severity, rule, rule.scenario)
        scenario = scenarios[0] if scenarios else None
        if event_type == "alarm":
            kind = SCENARIO_KIND.get(scenario.code if scenario else "", Kind.FIRE)
            severity = Severity.CRITICAL if kind in LIFE_SAFETY_KINDS else Severity.MAJOR
            return Verdict(kind, severity, None, scenario)
        kind, severity = EVENT_KIND[event_type]
        return Verdict(kind, severity, None, scenario)


def _summary(event_type: str, values: dict) -> str:
    cause = values.get("cause") or values.get("code") or ""
    text = f"{event_type}: {cause}" if cause else event_type
    return text[:300]


# One open alert per (device, kind): a new one, or the open one counting one more event. It
# returns the whole row, so that the alert needs no second read.
_ALERT_FIELDS = Alert._meta.concrete_fields
_ALERT_UPSERT = """
INSERT INTO alerts_alert (
    public_id, device_id, unit_id, region_id, scenario_id, rule_id, kind, severity, life_safety,
    status, outcome, summary, event_count, first_event_at, last_event_at, raised_at,
    next_step, next_step_at, policy_id
) VALUES (
    gen_random_uuid(), %(device)s, %(unit)s, %(region)s, %(scenario)s, %(rule)s, %(kind)s,
    %(severity)s, %(life_safety)s, 'open', '', %(summary)s, 1, %(at)s, %(at)s, %(now)s,
    0, NULL, NULL
)
ON CONFLICT (device_id, kind) WHERE NOT (status = 'resolved')
DO UPDATE SET event_count = alerts_alert.event_count + 1,
              last_event_at = GREATEST(alerts_alert.last_event_at, EXCLUDED.last_event_at)
RETURNING {columns}, (xmax = 0) AS created
""".format(columns=", ".join(f"alerts_alert.{field.column}" for field in _ALERT_FIELDS))


def alert_open(
    *, device: Device, verdict: Verdict, at: datetime, summary: str, now: datetime
) -> tuple[Alert, bool]:
    """Open the device's alert of this kind, or count one more event on the open one. A new
    alert gets its timeline's first line; its first step is written by the caller."""
    with connection.cursor() as cursor:
        cursor.execute(
            _ALERT_UPSERT,
            {
                "device": device.pk,
                "unit": device.unit_id,
                "region": device.unit.region_id,
                "scenario": verdict.scenario.pk if verdict.scenario else None,
                "rule": verdict.rule.pk if verdict.rule else None,
                "kind": verdict.kind,
                "severity": verdict.severity,
                "life_safety": verdict.kind in LIFE_SAFETY_KINDS,
                "summary": summary,
                "at": at,
                "now": now,
            },
        )
        *row, created = cursor.fetchone()
    alert = Alert.from_db(connection.alias, [field.attname for field in _ALERT_FIELDS], row)
    alert.device = device
    if alert.unit_id == device.unit_id:
        alert.unit = device.unit  # with its region and parent, as the routing reads them
    if created:
        AlertEntry.objects.create(
            alert=alert, at=now, action=AlertEntry.Action.RAISED, note=summary
        )
    return alert, created


def _resolve_by_system(alert: Alert, *, outcome: str, now: datetime, note: str) -> None:
    """Resolved by SafeUnit itself: a cleared condition, or a test press recorded."""
    changed = Alert.objects.filter(pk=alert.pk, status__in=Alert.UNRESOLVED).update(
        status=Alert.Status.RESOLVED,
        outcome=outcome,
        resolved_at=now,
        next_step_at=None,
    )
    if changed:
        AlertEntry.objects.create(
            alert=alert,
            at=now,
            action=AlertEntry.Action.RESOLVED,
            from_status=alert.status,
            to_status=Alert.Status.RESOLVED,
            note=note,
        )


def _devices(ids) -> dict[int, Device]:
    return {
        device.pk: device
        for device in Device.objects.filter(pk__in=ids)
        .select_related("unit__region", "unit__parent", "device_model")
        .prefetch_related(Prefetch("device_model__scenarios"))
    }


def _handle(
    event: dict, device: Device, rules: Rules, policies: list[EscalationPolicy], now: datetime
) -> list[int]:
    """One outbox event → its alert; the ids of the notification rows written."""
    values = event["values"] or {}
    if device.unit_id is None:
        logger.warning("event %s of unplaced device %s ignored", event["event_id"], device.pk)
        return []
    if event["type"] == "fault" and values.get("cleared") is True:
        open_fault = Alert.objects.filter(
            device=device, kind=Kind.FAULT, status__in=Alert.UNRESOLVED
        ).first()
        if open_fault:
            _resolve_by_system(
                open_fault,
                outcome=Alert.Outcome.CLEARED,
                now=now,
                note=_("The device reports the fault cleared."),
            )
        return []
    verdict = rules.verdict(device, event["type"], str(values.get("cause") or ""))
    alert, created = alert_open(
        device=device,
        verdict=verdict,
        at=event["ts"],
        summary=_summary(event["type"], values),
        now=now,
    )
    if not created:
        return []
    notification_ids = escalation.alert_first_step(alert=alert, now=now, policies=policies)
    if verdict.kind == Kind.TEST:
        # A test press is acknowledged by being recorded; the unit sees it arrived.
        _resolve_by_system(
            alert, outcome=Alert.Outcome.TEST, now=now, note=_("Test event received.")
        )
    return notification_ids


def _queue(notification_ids: list[int]) -> None:
    if notification_ids:
        from alerts.services.delivery import notifications_dispatch

        transaction.on_commit(lambda: notifications_dispatch(notification_ids))


def events_process(*, limit: int = BATCH) -> int:
    """Drain the outbox, a batch per transaction. Returns the number of events handled."""
    handled = 0
    while True:
        with transaction.atomic():
            now = timezone.now()
            events = device_events_claim(limit=limit, now=now)
            if not events:
                return handled
            rules, policies = Rules(), escalation.policies_all()
            devices = _devices({event["device_id"] for event in events})
            notification_ids = []
            for event in events:
                device = devices[event["device_id"]]
                notification_ids += _handle(event, device, rules, policies, now)
            _queue(notification_ids)
        handled += len(events)
        if len(events) < limit:
            return handled


# Threshold rules ----------------------------------------------------------------------------

_THRESHOLD_MARK = "thresholds"

_READINGS_SINCE = """
SELECT r.device_id, r.ts, r."values"
FROM devices_reading r
WHERE r.received_at > %(since)s AND r.received_at <= %(until)s
  AND r.ts > %(since)s - interval '1 day'
  AND r.device_id IN (
      SELECT d.id FROM devices_device d
      WHERE d.state IN ('active', 'offline', 'faulty', 'maintenance')
        AND d.device_model_id = ANY(%(models)s)
  )
ORDER BY r.device_id, r.ts
"""


def _threshold_rules_by_model() -> dict[int, list[AlarmRule]]:
    rules = list(
        AlarmRule.objects.filter(active=True)
        .exclude(trigger=AlarmRule.Trigger.EVENT)
        .select_related("scenario")
    )
    if not rules:
        return {}
    by_model: dict[int, list[AlarmRule]] = {}
    models = Scenario.device_models.through.objects.filter(
        scenario_id__in={rule.scenario_id for rule in rules}
    ).values_list("devicemodel_id", "scenario_id")
    for model_id, scenario_id in models:
        for rule in rules:
            if rule.scenario_id == scenario_id and rule.device_model_id in (None, model_id):
                by_model.setdefault(model_id, []).append(rule)
    return by_model


def _past(rule: AlarmRule, value) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return (
        value > rule.threshold
        if rule.trigger == AlarmRule.Trigger.ABOVE
        else value < rule.threshold
    )


@transaction.atomic
def thresholds_evaluate(*, now: datetime | None = None) -> int:
    """Readings received since the last pass, against the threshold rules of their devices'
    models: a breach starts a clock; one that lasts `for_seconds` opens an alert (once); a
    reading back on the right side ends it. Returns the number of alerts opened."""
    now = now or timezone.now()
    state, _created = ProcessorState.objects.select_for_update().get_or_create(
        name=_THRESHOLD_MARK, defaults={"mark": now - timedelta(minutes=5)}
    )
    by_model = _threshold_rules_by_model()
    since, state.mark = state.mark, now
    state.save(update_fields=["mark"])
    if not by_model:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_READINGS_SINCE, {"since": since, "until": now, "models": list(by_model)})
        readings = [
            (device_id, ts, json.loads(values) if isinstance(values, str) else values)
            for device_id, ts, values in cursor.fetchall()
        ]
    if not readings:
        return 0
    devices = _devices({device_id for device_id, _ts, _values in readings})
    breaches = {
        (breach.device_id, breach.rule_id): breach
        for breach in ThresholdBreach.objects.select_for_update().filter(device_id__in=devices)
    }
    opened, notification_ids = 0, []
    policies = None  # read when the first alert opens
    for device_id, ts, values in readings:
        device = devices[device_id]
        for rule in by_model.get(device.device_model_id, []):
            if rule.metric not in (values or {}):
                continue
            breach = breaches.get((device_id, rule.pk))
            if not _past(rule, values[rule.metric]):
                if breach is not None:
                    breach.delete()
                    del breaches[(device_id, rule.pk)]
                continue
            if breach is None:
                breach = ThresholdBreach.objects.create(device=device, rule=rule, since=ts)
                breaches[(device_id, rule.pk)] = breach
            if breach.fired or (ts - breach.since).total_seconds() < rule.for_seconds:
                continue
            breach.fired = True
            breach.save(update_fields=["fired"])
            if device.unit_id is None:
                continue
            verdict = Verdict(rule.kind, rule.severity, rule, rule.scenario)
            summary = f"{rule.metric} {values[rule.metric]} ({rule.trigger} {rule.threshold:g})"
            alert, created = alert_open(
                device=device, verdict=verdict, at=ts, summary=summary, now=now
            )
            if created:
                opened += 1
                policies = policies if policies is not None else escalation.policies_all()
                notification_ids += escalation.alert_first_step(
                    alert=alert, now=now, policies=policies
                )
    _queue(notification_ids)
    return opened
