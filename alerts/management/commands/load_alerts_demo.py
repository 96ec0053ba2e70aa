"""`manage.py load_alerts_demo`: eight weeks of handled alerts in the demo, so that the
reviewer's dashboard and the alert pages show real response times.

Twelve past alerts on the smoke detector in the merchant's Tianzifang coffee shop (林记咖啡),
the one demo device that is installed from the start (the estate's are still to be claimed):
fires (some false alarms, one a test), tampering, low batteries, a spell offline. Each was
raised, told its people within a second (the escalation policy's real recipients, every
message sent), acknowledged after 20 s to 4 min by the fire station's duty desk, the park
office or the merchant, for some dispatched, and resolved 5 to 40 minutes after it was
raised, with a note. All are resolved: the consoles start empty for the live simulated alarm.

They are history, so they are written with the ORM in bulk, not through the processor (which
would stamp them now and send the messages again). The oversight demo, which load_demo runs
next, refreshes the dashboards' roll-ups (alerts never imports oversight, the layer above).

Idempotent: the alerts have fixed public ids; when any of them is there (one query), nothing
else is done. A device that is missing is skipped, with its alerts.
"""

import random
import uuid
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from alerts.models import (
    LIFE_SAFETY_KINDS,
    AlarmRule,
    Alert,
    AlertEntry,
    Channel,
    DeliveryAttempt,
    Kind,
    Notification,
    Severity,
)
from alerts.services import escalation
from devices.management.commands.load_devices_demo import COFFEE_SHOP
from devices.models import Device
from marketplace.models import Scenario
from units.management.commands.load_demo import LOGINS
from units.models import Unit

Action, Via, Status, Outcome = AlertEntry.Action, AlertEntry.Via, Alert.Status, Alert.Outcome
# The demo alerts' public ids: the same on every run, so the check for them is one query.
NAMESPACE = uuid.UUID("5c1b3c52-6f0e-4a8e-9a57-0d3e1f2b7a10")
SEVERITY = {
    Kind.FIRE: Severity.CRITICAL,
    Kind.ELECTRICAL: Severity.MAJOR,
    Kind.CHARGING: Severity.MAJOR,
    Kind.TAMPER: Severity.MAJOR,
    Kind.BATTERY: Severity.MINOR,
    Kind.OFFLINE: Severity.MINOR,
}
# The device the history is on, by key: the coffee shop's smoke detector (fire scenario).
COFFEE = "coffee"
SCENARIO_OF = {COFFEE: "fire"}
WEEKS = 8
SWEEP = ("sweep", "")  # raised by the health sweep, not by an event


class Handling(NamedTuple):
    after_s: int  # from the alert being raised
    by: str | None  # a LOGINS key; None: SafeUnit itself (a sweep)
    note: str = ""


class Past(NamedTuple):
    days_ago: int
    at: str  # Shanghai time of day the alert was raised
    device: str
    kind: str
    event: tuple[str, str]  # event type and cause, as the device reported them
    events: int
    acknowledged: Handling
    dispatched: Handling | None
    resolved: Handling
    outcome: str
    notes: tuple[Handling, ...] = ()
    via_link: bool = False  # acknowledged with the link in the message


H = Handling
# fmt: off
HISTORY = [
    Past(55, "07:42:13", COFFEE, Kind.FIRE, ("alarm", "smoke"), 2, H(48, "merchant"), None,
         H(372, "merchant", "开店前烘焙咖啡豆，烟雾飘到探测器；已开窗通风，探测器复位。"),
         Outcome.FALSE_ALARM, via_link=True),
    Past(51, "14:15:40", COFFEE, Kind.FIRE, ("alarm", "smoke"), 3, H(35, "fire_desk"),
         H(71, "fire_desk", "派打浦桥站一车五人前往泰康路210弄7号。"),
         H(1680, "fire_desk", "烤箱内食物起火，店员已用灭火毯扑灭；到场无复燃，已断开烤箱电源。"),
         Outcome.INCIDENT),
    Past(47, "09:03:05", COFFEE, Kind.BATTERY, SWEEP, 1, H(190, "merchant"), None,
         H(610, None), Outcome.CLEARED, notes=(H(600, "merchant", "已更换电池。"),)),
    Past(44, "21:37:51", COFFEE, Kind.FIRE, ("alarm", "smoke"), 1, H(110, "park"), None,
         H(540, "park", "打烊后店员用喷雾清洁剂清洁吧台触发；现场无烟无火。"), Outcome.FALSE_ALARM),
    Past(40, "10:00:22", COFFEE, Kind.FIRE, ("alarm", "smoke"), 1,
         H(25, "fire_desk", "管委会报备过今天的测试。"), None,
         H(420, "park", "管委会季度消防测试（测试烟雾剂），已提前告知消防站和商户。"),
         Outcome.TEST),
    Past(37, "03:12:44", COFFEE, Kind.OFFLINE, SWEEP, 1, H(220, "park"), None,
         H(2280, "merchant", "NB-IoT 通信模块故障，厂家远程重启后恢复上报。"),
         Outcome.DEVICE_FAULT),
    Past(33, "13:26:09", COFFEE, Kind.FIRE, ("alarm", "smoke"), 4, H(22, "fire_desk"),
         H(50, "fire_desk", "派打浦桥站前往。"),
         H(2040, "fire_desk", "咖啡机电源线过热冒烟，已断电；请商户更换线路后再用。"),
         Outcome.INCIDENT),
    Past(29, "18:50:30", COFFEE, Kind.TAMPER, ("tamper", ""), 1, H(130, "park"), None,
         H(720, "merchant", "装修工人挪动吊顶时碰到探测器，已装回复位。"), Outcome.FALSE_ALARM),
    Past(26, "08:05:17", COFFEE, Kind.FIRE, ("alarm", "smoke"), 1, H(40, "merchant"), None,
         H(330, "merchant", "打奶泡的蒸汽飘到探测器，已复位。"), Outcome.FALSE_ALARM,
         via_link=True),
    Past(15, "11:20:03", COFFEE, Kind.FIRE, ("alarm", "smoke"), 3, H(65, "fire_desk"),
         H(95, "fire_desk", "派打浦桥站一车前往。"),
         H(2400, "fire_desk", "二楼插座短路冒烟，已断电，电工到场更换插座。"), Outcome.INCIDENT),
    Past(8, "20:05:48", COFFEE, Kind.BATTERY, SWEEP, 1, H(120, "merchant"), None,
         H(905, None), Outcome.CLEARED, notes=(H(900, "merchant", "换了新电池。"),)),
    Past(3, "12:30:36", COFFEE, Kind.FIRE, ("alarm", "smoke"), 2, H(28, "fire_desk"),
         H(60, "fire_desk", "派打浦桥站前往。"),
         H(1500, "fire_desk", "后厨烤箱内残渣着火，店员关闭电源后扑灭；到场确认无复燃。"),
         Outcome.INCIDENT),
]
# fmt: on


def demo_alert_id(index: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"demo-alert-{index}")


class Command(BaseCommand):
    help = "Add eight weeks of handled alerts on the demo devices, and refresh the roll-ups."

    def handle(self, *args, **options):
        ids = [demo_alert_id(index) for index in range(len(HISTORY))]
        if Alert.objects.filter(public_id__in=ids).exists():
            self.stdout.write(_("Demo alert history already there."))
            return
        devices = self.devices()
        users = {
            user.email: user
            for user in User.objects.filter(email__in=[email for _r, email, _n in LOGINS.values()])
        }
        people = {key: users.get(email) for key, (_role, email, _name) in LOGINS.items()}
        wanted = [past for past in HISTORY if past.device in devices]
        if not wanted:
            self.stdout.write(_("Demo alert history skipped: load the devices demo first."))
            return
        with transaction.atomic():
            written = History(devices=devices, people=people).write(ids)
        self.stdout.write(
            _(
                "Demo alert history added: %(alerts)s resolved alerts over the last %(weeks)s "
                "weeks, with %(notifications)s messages sent."
            )
            % {
                "alerts": written["alerts"],
                "weeks": WEEKS,
                "notifications": written["notifications"],
            }
        )
        if len(wanted) < len(HISTORY):
            self.stdout.write(
                _("Skipped %(count)s demo alerts whose device is missing.")
                % {"count": len(HISTORY) - len(wanted)}
            )

    def devices(self) -> dict[str, tuple[Device, Unit]]:
        """The devices the history is on, with the unit each alert counts under."""
        detector = (
            Device.objects.filter(unit__name=COFFEE_SHOP, device_model__model_number="SA-S100")
            .exclude(state__in=[Device.State.RETIRED, Device.State.RETURNED])
            .select_related("device_model", "unit__region", "unit__parent")
            .first()
        )
        return {COFFEE: (detector, detector.unit)} if detector else {}


class History:
    """Writes the alerts of HISTORY whose device is there, with their timelines and messages,
    in a few bulk statements."""

    def __init__(self, *, devices: dict[str, tuple[Device, Unit]], people: dict[str, User]):
        self.devices = devices
        self.people = people
        self.scenarios = {s.code: s for s in Scenario.objects.filter(code__in=SCENARIO_OF.values())}
        self.rules = {
            (rule.scenario.code, rule.event_type, rule.cause): rule
            for rule in AlarmRule.objects.filter(
                active=True,
                trigger=AlarmRule.Trigger.EVENT,
                device_model=None,
                scenario__code__in=SCENARIO_OF.values(),
            ).select_related("scenario")
        }
        self._policies: dict = {}
        self._recipients: dict = {}
        self.today = timezone.localdate()

    def write(self, ids: list[uuid.UUID]) -> dict[str, int]:
        plans = []
        for index, past in enumerate(HISTORY):
            if past.device in self.devices:
                plans.append(self.plan(past, ids[index], random.Random(index)))
        Alert.objects.bulk_create([plan["alert"] for plan in plans])
        entries, notifications = [], []
        for plan in plans:
            entries += plan["entries"]
            notifications += plan["notifications"]
        AlertEntry.objects.bulk_create(entries)
        Notification.objects.bulk_create(notifications)
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                notification=notification,
                at=notification.sent_at,
                ok=True,
                duration_ms=(notification.sent_at - notification.created_at)
                // timedelta(milliseconds=1),
            )
            for notification in notifications
        )
        return {"alerts": len(plans), "notifications": len(notifications)}

    # One alert --------------------------------------------------------------------------------

    def plan(self, past: Past, public_id: uuid.UUID, rng: random.Random) -> dict:
        device, unit = self.devices[past.device]
        scenario = self.scenarios.get(SCENARIO_OF[past.device])
        hour, minute, second = (int(part) for part in past.at.split(":"))
        day = self.today - timedelta(days=past.days_ago)
        raised_at = timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))
        raised_at += timedelta(seconds=second, milliseconds=rng.randint(0, 999))
        first_event_at = raised_at - timedelta(milliseconds=rng.randint(150, 600))

        def at(handling: Handling) -> datetime:
            return raised_at + timedelta(seconds=handling.after_s)

        severity = SEVERITY[past.kind]
        acknowledged_by = self.people.get(past.acknowledged.by)
        resolved_by = self.people.get(past.resolved.by) if past.resolved.by else None
        alert = Alert(
            public_id=public_id,
            device=device,
            unit=unit,
            region_id=unit.region_id,
            scenario=scenario,
            rule=self.rule(past, scenario),
            kind=past.kind,
            severity=severity,
            life_safety=past.kind in LIFE_SAFETY_KINDS,
            status=Status.RESOLVED,
            outcome=past.outcome,
            summary=self.summary(past),
            event_count=past.events,
            first_event_at=first_event_at,
            last_event_at=first_event_at + timedelta(seconds=20 * (past.events - 1)),
            raised_at=raised_at,
            acknowledged_at=at(past.acknowledged),
            acknowledged_by=acknowledged_by,
            dispatched_at=at(past.dispatched) if past.dispatched else None,
            resolved_at=at(past.resolved),
            resolved_by=resolved_by,
            next_step_at=None,
        )
        alert.unit = unit  # routing reads the unit's region and park
        policy = self.policy(alert)
        alert.policy = policy
        steps = sorted(policy.steps.all(), key=lambda step: step.position) if policy else []
        # Minor alerts stay with step 0; others escalate while nobody has acknowledged.
        fired = [
            step
            for step in steps
            if step.position == 0
            or (severity != Severity.MINOR and step.delay_s < past.acknowledged.after_s)
        ]
        alert.next_step = len(fired)

        entries = [AlertEntry(alert=alert, at=raised_at, action=Action.RAISED, note=alert.summary)]
        notifications = []
        for step in fired:
            step_at = raised_at + timedelta(seconds=step.delay_s)
            sent = self.messages(alert, step, step_at, rng)
            notifications += sent
            names = sorted({notification.recipient for notification in sent})
            note = ngettext(
                "Step %(step)s: %(count)s message to %(names)s",
                "Step %(step)s: %(count)s messages to %(names)s",
                len(sent),
            ) % {"step": step.position, "count": len(sent), "names": ", ".join(names)}
            entries.append(
                AlertEntry(
                    alert=alert,
                    at=step_at,
                    action=Action.NOTIFIED if step.position == 0 else Action.ESCALATED,
                    note=note[:500],
                )
            )
        if notifications:
            alert.first_notified_at = min(n.sent_at for n in notifications)

        via = Via.LINK if past.via_link else Via.CONSOLE
        if via == Via.LINK:
            link = next(
                (
                    n
                    for n in notifications
                    if n.user_id == getattr(acknowledged_by, "pk", None)
                    and n.channel in (Channel.EMAIL, Channel.SMS)
                ),
                None,
            )
            if link is not None:
                link.link_used_at = alert.acknowledged_at
        for notification in notifications:  # who acknowledged had read the app's message
            acker = getattr(acknowledged_by, "pk", None)
            if notification.channel == Channel.IN_APP and acker and notification.user_id == acker:
                notification.read_at = alert.acknowledged_at

        status = Status.ACKNOWLEDGED
        entries.append(self.entry(alert, past.acknowledged, Action.ACKNOWLEDGED, Status.OPEN, via))
        if past.dispatched:
            entries.append(self.entry(alert, past.dispatched, Action.DISPATCHED, status))
            status = Status.DISPATCHED
        for handling in past.notes:
            entries.append(self.entry(alert, handling, Action.NOTE, ""))
        resolved = past.resolved
        if resolved.by is None:  # a sweep saw the condition clear
            note = (
                _("The battery is back above the threshold.")
                if past.kind == Kind.BATTERY
                else _("The device reports again.")
            )
            resolved = Handling(resolved.after_s, None, note)
        entries.append(
            self.entry(
                alert,
                resolved,
                Action.RESOLVED,
                status,
                Via.SYSTEM if resolved.by is None else Via.CONSOLE,
            )
        )
        return {"alert": alert, "entries": entries, "notifications": notifications}

    def entry(
        self, alert: Alert, handling: Handling, action: str, from_status: str, via: str = ""
    ) -> AlertEntry:
        to_status = {
            Action.ACKNOWLEDGED: Status.ACKNOWLEDGED,
            Action.DISPATCHED: Status.DISPATCHED,
            Action.RESOLVED: Status.RESOLVED,
        }.get(action, "")
        return AlertEntry(
            alert=alert,
            at=alert.raised_at + timedelta(seconds=handling.after_s),
            action=action,
            by=self.people.get(handling.by) if handling.by else None,
            via=via or (Via.SYSTEM if handling.by is None else Via.CONSOLE),
            from_status=from_status if to_status else "",
            to_status=to_status,
            note=handling.note,
        )

    def messages(self, alert: Alert, step, at: datetime, rng: random.Random) -> list:
        """The step's messages to the recipients its targets name, each sent within a second
        (in the app first)."""
        key = (alert.unit.pk, alert.kind, step.pk)
        if key not in self._recipients:
            self._recipients[key] = escalation.recipients_for(alert, step.targets)
        rows = []
        for recipient in self._recipients[key]:
            in_app = recipient.channel == Channel.IN_APP
            sent_at = at + timedelta(
                milliseconds=rng.randint(120, 400) if in_app else rng.randint(400, 950)
            )
            rows.append(
                Notification(
                    alert=alert,
                    step=step.position,
                    channel=recipient.channel,
                    user_id=recipient.user_id,
                    responder_id=recipient.responder_id,
                    recipient=recipient.name[:200],
                    address=recipient.address[:300],
                    idempotency_key=f"{alert.public_id}:{step.position}:{recipient.channel}:"
                    f"{recipient.address}"[:200],
                    status=Notification.Status.SENT,
                    attempts=1,
                    created_at=at,
                    next_attempt_at=at,
                    sent_at=sent_at,
                )
            )
        return rows

    # Look-ups -----------------------------------------------------------------------------------

    def policy(self, alert: Alert):
        key = (alert.unit.pk, alert.scenario_id)
        if key not in self._policies:
            self._policies[key] = escalation.policy_for(alert)
        return self._policies[key]

    def rule(self, past: Past, scenario: Scenario | None) -> AlarmRule | None:
        """The reference rule that maps the event to this kind, as the processor would pick
        it (the cause's own, else the scenario's catch-all); none for a sweep's alert."""
        if scenario is None or past.event == SWEEP:
            return None
        event_type, cause = past.event
        for wanted in (cause, ""):
            rule = self.rules.get((scenario.code, event_type, wanted))
            if rule is not None and rule.kind == past.kind:
                return rule
        return None

    @staticmethod
    def summary(past: Past) -> str:
        """As the processor and the sweeps write it."""
        if past.kind == Kind.OFFLINE:
            return _("No heartbeat since it was due.")
        if past.kind == Kind.BATTERY:
            return _("Battery under %(pct)s%%.") % {"pct": settings.ALERT_LOW_BATTERY_PCT}
        event_type, cause = past.event
        return f"{event_type}: {cause}" if cause else event_type
