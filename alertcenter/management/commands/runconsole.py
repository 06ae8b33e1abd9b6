"""Start the console on the embedded default: web, worker, scheduler, demo."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from mailboxes.management.commands import demo_servers


class Command(BaseCommand):
    help = "Migrate, load the demo, then run the web console, a worker and beat."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("PORT", 8000))
        )
        parser.add_argument("--no-demo", action="store_true")

    def handle(self, *args: Any, port: int, no_demo: bool, **options: Any) -> None:
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        env = dict(os.environ)
        env.setdefault("DEBUG", "true")
        # Web, worker and beat share their Prometheus figures through files.
        metrics_dir = settings.VAR_DIR / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
        python = sys.executable
        children: dict[str, subprocess.Popen[bytes]] = {}
        if not no_demo:
            # The demo servers come first: load_demo processes the demo
            # mailboxes against them, so the wall has real alerts at once.
            children["demo-servers"] = subprocess.Popen(
                [python, "manage.py", "demo_servers"], env=env
            )
            _wait_for_port(demo_servers.HOST, demo_servers.SMTP_PORT, 30)
            call_command("load_demo")

        commands = {
            "web": [
                python,
                "manage.py",
                "runserver",
                "--noreload",
                f"127.0.0.1:{port}",
            ],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "alertcenter",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "-n",
                "worker@%h",
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "alertcenter",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(settings.VAR_DIR / "celerybeat-schedule"),
            ],
        }
        children.update(
            (name, subprocess.Popen(argv, env=env)) for name, argv in commands.items()
        )
        self.stdout.write(
            f"alertcenter is starting on http://127.0.0.1:{port}/ "
            "(web, worker, beat). Ctrl-C stops all of them."
        )
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with {child.returncode}")
                        stopping = True
                time.sleep(0.5)
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            deadline = time.monotonic() + 10
            for child in children.values():
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()


def _wait_for_port(host: str, port: int, timeout: float) -> bool:
    """Wait until host:port accepts connections; return whether it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False
