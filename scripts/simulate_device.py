#!/usr/bin/env python3
"""A simulated SafeUnit device: heartbeats and readings for one device token, every few seconds.

Standard library only, so it runs anywhere Python 3.11 does (a gateway, a laptop):

    python scripts/simulate_device.py dv_XXXX
    python scripts/simulate_device.py dv_XXXX --url http://127.0.0.1:8000 --interval 5 \\
        --metric residual_current=0:30 --metric temperature=20:45
    python scripts/simulate_device.py dv_XXXX --smoke-alarm --count 1
    python scripts/simulate_device.py dv_XXXX --thingsboard --count 10

Each round posts a heartbeat (battery, signal, firmware) and a reading of every --metric
(a random value in its range) to POST /api/v1/ingest with `Authorization: Device <token>`, and
prints the answer. --thingsboard uses the ThingsBoard-compatible routes instead
(/api/v1/<token>/attributes for the heartbeat, /api/v1/<token>/telemetry for the reading), as
existing firmware does. --smoke-alarm also sends one alarm event in the first round (always
through /api/v1/ingest: ThingsBoard's device API has no alarm type). --count stops after that
many rounds; without it the device runs until Ctrl-C.

The URL defaults to $SITE_URL, else http://127.0.0.1:8000. `manage.py load_devices_demo`
prints a ready-made command line for a demo device. A device activates on its first report
after it has been claimed and placed; before that its reports are stored but it stays claimed.
Exit status: 0 when every request was accepted, 1 otherwise.
"""

import argparse
import json
import os
import random
import secrets
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

DEFAULT_METRICS = ["smoke_density=0:0.05"]


def metric(text: str) -> tuple[str, float, float]:
    """NAME or NAME=LOW:HIGH (the range the simulated values stay in)."""
    name, _, bounds = text.partition("=")
    low, high = 0.0, 1.0
    if bounds:
        try:
            low, high = (float(part) for part in bounds.split(":", 1))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: write NAME=LOW:HIGH") from None
    if not name or low > high:
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME=LOW:HIGH with LOW <= HIGH")
    return name, low, high


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("token", help="the device's token (dv_…), shown once when issued")
    parser.add_argument(
        "--url",
        default=os.environ.get("SITE_URL") or "http://127.0.0.1:8000",
        help="SafeUnit's address (default: $SITE_URL or http://127.0.0.1:8000)",
    )
    parser.add_argument(
        "--interval", type=float, default=10.0, help="seconds between rounds (default 10)"
    )
    parser.add_argument("--count", type=int, default=0, help="stop after this many rounds")
    parser.add_argument(
        "--metric",
        action="append",
        type=metric,
        help="NAME=LOW:HIGH, repeatable (default: smoke_density=0:0.05); "
        "use the metrics of the device's model",
    )
    parser.add_argument(
        "--smoke-alarm", action="store_true", help="send one alarm event in the first round"
    )
    parser.add_argument(
        "--thingsboard", action="store_true", help="use the ThingsBoard-compatible routes"
    )
    parser.add_argument("--firmware", default="sim-1.0", help="firmware version to report")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    options = parser.parse_args(argv)
    options.metric = options.metric or [metric(text) for text in DEFAULT_METRICS]
    options.url = options.url.rstrip("/")
    return options


def post(url: str, body, *, token: str | None, timeout: float) -> tuple[int, str]:
    """(status, answer text); status 0 when SafeUnit could not be reached."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Device {token}"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as error:
        return 0, str(getattr(error, "reason", error))


class Device:
    def __init__(self, options: argparse.Namespace):
        self.options = options
        self.run_id = secrets.token_hex(4)  # event ids stay unique across runs
        self.sent = 0
        self.battery = random.randint(80, 100)

    def event_id(self, kind: str) -> str:
        self.sent += 1
        return f"sim-{self.run_id}-{self.sent}-{kind}"

    def facts(self) -> dict:
        self.battery = max(5, self.battery - random.choice([0, 0, 0, 1]))
        return {
            "battery_pct": self.battery,
            "signal_dbm": random.randint(-95, -60),
            "firmware": self.options.firmware,
        }

    def reading(self) -> dict:
        return {
            name: round(random.uniform(low, high), 3) for name, low, high in self.options.metric
        }

    def alarm(self, now: str) -> dict:
        """Smoke: the first metric far above its normal range."""
        name, _low, high = self.options.metric[0]
        values = {"cause": "smoke", name: round(high * 20, 3) or 1}
        return {"id": self.event_id("alarm"), "ts": now, "type": "alarm", "values": values}

    def requests(self, first: bool) -> list[tuple[str, object, str | None]]:
        """(url, body, token for the header) of one round."""
        options = self.options
        now = datetime.now(UTC)
        stamp = now.isoformat()
        if options.thingsboard:
            base = f"{options.url}/api/v1/{options.token}"
            round_ = [
                (f"{base}/attributes", self.facts(), None),
                (
                    f"{base}/telemetry",
                    {"ts": int(now.timestamp() * 1000), "values": self.reading()},
                    None,
                ),
            ]
            if first and options.smoke_alarm:
                batch = {"events": [self.alarm(stamp)]}
                round_.append((f"{options.url}/api/v1/ingest", batch, options.token))
            return round_
        events = [
            {"id": self.event_id("hb"), "ts": stamp, "type": "heartbeat", "values": self.facts()},
            {"id": self.event_id("rd"), "ts": stamp, "type": "reading", "values": self.reading()},
        ]
        if first and options.smoke_alarm:
            events.append(self.alarm(stamp))
        return [(f"{options.url}/api/v1/ingest", {"events": events}, options.token)]


def main(argv: list[str] | None = None) -> int:
    options = arguments(argv)
    device = Device(options)
    all_accepted = True
    rounds = 0
    print(f"Simulating device {options.token[:10]}… against {options.url} (Ctrl-C stops)")
    try:
        while True:
            for url, body, token in device.requests(first=rounds == 0):
                status, answer = post(url, body, token=token, timeout=options.timeout)
                route = url.removeprefix(options.url).replace(options.token, "<token>")
                print(
                    f"{datetime.now():%H:%M:%S} POST {route} → {status or 'unreachable'} {answer}"
                )
                all_accepted = all_accepted and 200 <= status < 300
            sys.stdout.flush()
            rounds += 1
            if options.count and rounds >= options.count:
                break
            time.sleep(options.interval)
    except KeyboardInterrupt:
        print()
    return 0 if all_accepted else 1


if __name__ == "__main__":
    sys.exit(main())
