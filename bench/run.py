"""SafeUnit's benchmarks (DESIGN §9). Each prints `<name>: <value> <unit>` lines.

    make bench                       # all of them
    make bench ARGS=ingest           # one

Runs against the configured PostgreSQL (or the embedded one) in a database of its own,
`safeunit_bench`, with the web tier under gunicorn and the load from wrk (Debian's package).
"""

import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

DURATION_S = int(os.environ.get("BENCH_DURATION_S", "10"))
DEVICES = 1000


def _bench_database_url() -> str:
    """The configured server, database `safeunit_bench` (created when missing)."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    base, _, _name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname='safeunit_bench'").fetchone():
            conn.execute("CREATE DATABASE safeunit_bench")
    return f"{base}/safeunit_bench"


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-" + uuid.uuid4().hex)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--no-input", verbosity=0)


def _devices() -> list[str]:
    """DEVICES active, placed devices of a bench vendor; their tokens."""
    from django.db import transaction

    from accounts import services as account_services
    from accounts.models import Organisation
    from devices import tokens
    from devices.models import Device
    from marketplace.models import DeviceModel, Vendor

    with transaction.atomic():
        Device.objects.filter(vendor__licence_number="BENCH0000000000000").delete()
        organisation = Organisation.objects.filter(name="bench vendor").first()
        if organisation is None:
            owner = account_services.user_create(
                email="bench@example.com", password=None, full_name="bench"
            )
            organisation = account_services.organisation_create(
                name="bench vendor", kind=Organisation.Kind.VENDOR, owner=owner
            )
        vendor, _ = Vendor.objects.get_or_create(
            organisation=organisation,
            defaults={
                "licence_number": "BENCH0000000000000",
                "contact_name": "bench",
                "contact_phone": "02100000000",
                "contact_email": "bench@example.com",
            },
        )
        model, _ = DeviceModel.objects.get_or_create(
            vendor=vendor,
            model_number="BENCH-1",
            defaults={
                "name": "bench sensor",
                "category": DeviceModel.Category.values[0],
                "metrics": [{"name": "temperature", "unit": "°C", "min": -20, "max": 120}],
                "heartbeat_interval_s": 3600,
                "heartbeat_grace_s": 600,
                "protocol": DeviceModel.Protocol.values[0],
                "unit_cost": 1000,
            },
        )
        raw = []
        rows = []
        for n in range(DEVICES):
            token, digest, prefix = tokens.token_new()
            raw.append(token)
            rows.append(
                Device(
                    vendor=vendor,
                    device_model=model,
                    serial=f"BENCH-{n:06d}",
                    claim_code="BENCH",
                    state=Device.State.ACTIVE,
                    token_hash=digest,
                    token_prefix=prefix,
                )
            )
        Device.objects.bulk_create(rows)
    return raw


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rows() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM devices_reading")
        return cursor.fetchone()[0]


_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) a local process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * _TICK_S


def _children(parent: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[1]) == parent:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return pids


# The web processes' database sessions carry this application_name (libpq's PGAPPNAME).
WEB_APPLICATION_NAME = "safeunit-bench-web"


def _cpu_snapshot(web_pid: int) -> dict[str, dict[int, float]]:
    """CPU used so far by the gunicorn processes and by their PostgreSQL backends (when the
    server runs on this machine): a measure that other work on the machine does not skew,
    unlike requests/s."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
            [WEB_APPLICATION_NAME],
        )
        backends = [row[0] for row in cursor.fetchall()]
    web = [web_pid, *_children(web_pid)]
    return {
        "web": {pid: _cpu_s(pid) for pid in web},
        "db": {pid: _cpu_s(pid) for pid in backends},
    }


def _cpu_used(before: dict, after: dict, group: str) -> float:
    return sum(used - before[group].get(pid, 0.0) for pid, used in after[group].items())


def _wrk(url: str, script: Path, env: dict, connections: int) -> tuple[float, int, float]:
    """Requests/s, requests made, and wrk's own CPU seconds."""
    own = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{DURATION_S}s", "-s", str(script), url],
        env=env,
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        raise SystemExit(f"wrk failed:\n{run.stdout}\n{run.stderr}")
    out = run.stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise SystemExit(f"wrk saw {non_2xx.group(1)} failed responses:\n{out}")
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        int(re.search(r"(\d+) requests in", out).group(1)),
        used.ru_utime + used.ru_stime - own.ru_utime - own.ru_stime,
    )


def _wait_until_answering(url: str, timeout_s: float = 60) -> None:
    """Until a worker answers (401 to a request without a token), so that the figures do not
    include the workers' start."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(url, data=b"{}"), timeout=5)
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
        else:
            return


def _web(port: int, env: dict) -> subprocess.Popen:
    """The app under gunicorn as in production: one process per core, and threads enough for
    every connection to be in flight (concurrent requests of a process share a statement,
    devices/ingest.py, _Group)."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            os.environ.get("BENCH_WEB_WORKERS", "2"),
            "--worker-class",
            "gthread",
            "--threads",
            os.environ.get("BENCH_WEB_THREADS", "8"),
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=env,
    )


def bench_ingest(url: str) -> None:
    tokens = _devices()
    port = _free_port()
    env = dict(os.environ, PGAPPNAME=WEB_APPLICATION_NAME)
    print(
        f"ingest: load average {os.getloadavg()[0]:.1f} before the run (other work on the"
        " machine lowers requests/s; the cpu_* lines count only this benchmark's processes)",
        file=sys.stderr,
        flush=True,
    )
    web = _web(port, env)
    try:
        _wait_until_answering(f"http://127.0.0.1:{port}/api/v1/ingest")
        with tempfile.NamedTemporaryFile("w", suffix=".tokens", delete=False) as f:
            f.write("\n".join(tokens))
        script = BASE_DIR / "bench" / "ingest_batch.lua"
        target = f"http://127.0.0.1:{port}/api/v1/ingest"
        for size, name, connections in ((500, "batch", 4), (1, "single", 16)):
            wrk_env = env | {"BENCH_TOKENS": f.name, "BENCH_BATCH": str(size)}
            before = _rows()
            cpu_before = _cpu_snapshot(web.pid)
            started = time.monotonic()
            requests_per_s, requests, wrk_cpu = _wrk(target, script, wrk_env, connections)
            elapsed = time.monotonic() - started
            cpu_after = _cpu_snapshot(web.pid)
            stored = _rows() - before
            if name == "batch":
                print(f"ingest.batch: {stored / elapsed:.0f} events/s", flush=True)
            else:
                print(f"ingest.single: {requests_per_s:.0f} requests/s", flush=True)
            # CPU per request, in ms: what the figure above costs, whatever else runs.
            for group in ("web", "db"):
                used = _cpu_used(cpu_before, cpu_after, group)
                print(f"ingest.{name}.cpu_{group}: {1000 * used / requests:.3f} ms/request")
            print(f"ingest.{name}.cpu_wrk: {1000 * wrk_cpu / requests:.3f} ms/request", flush=True)
        os.unlink(f.name)
    finally:
        web.terminate()
        web.wait(timeout=15)
    _copy_ceiling(rows=100_000)


def _copy_ceiling(*, rows: int) -> None:
    """PostgreSQL's own COPY of the same kind of rows into the same table: the ceiling."""
    from datetime import UTC, datetime

    from django.db import connection, transaction

    from devices.models import Device

    device_ids = list(
        Device.objects.filter(serial__startswith="BENCH-").values_list("pk", flat=True)
    )
    now = datetime.now(UTC)
    marker = uuid.uuid4().hex[:8]
    started = time.monotonic()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.copy(
            'COPY devices_reading (device_id, event_id, ts, kind, "values", received_at) FROM STDIN'
        ) as copy,
    ):
        for n in range(rows):
            copy.write_row(
                (
                    device_ids[n % len(device_ids)],
                    f"copy-{marker}-{n}",
                    now,
                    "reading",
                    '{"temperature": 21.5}',
                    now,
                )
            )
    elapsed = time.monotonic() - started
    print(f"ingest.copy_ceiling: {rows / elapsed:.0f} rows/s", flush=True)


def bench_alarm(url: str) -> None:
    from bench.alerting import bench_alarm as alarm

    port = _free_port()
    env = dict(os.environ, PGAPPNAME=WEB_APPLICATION_NAME)
    web = _web(port, env)
    try:
        _wait_until_answering(f"http://127.0.0.1:{port}/api/v1/ingest")
        alarm(f"http://127.0.0.1:{port}", dict(os.environ))
    finally:
        web.terminate()
        web.wait(timeout=15)


def bench_sweep(url: str) -> None:
    from bench.alerting import bench_sweep as sweep

    sweep()


from bench.dashboard import bench_dashboard  # noqa: E402 (bench/ is importable from here on)
from bench.pages import bench_pages  # noqa: E402

BENCHMARKS = {
    "ingest": bench_ingest,
    "alarm": bench_alarm,
    "sweep": bench_sweep,
    "dashboard": bench_dashboard,
    "pages": bench_pages,
}


def main() -> int:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: `make bench` installs it (Debian package wrk)")
    chosen = sys.argv[1:] or list(BENCHMARKS)
    url = _bench_database_url()
    _setup_django(url)
    for name in chosen:
        BENCHMARKS[name](url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
