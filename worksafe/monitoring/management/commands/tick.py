"""`worksafe tick [--loop SECONDS]`: the periodic monitoring work, once or forever (see monitoring/tick.py)."""

import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from worksafe.monitoring import tick

log = logging.getLogger("worksafe.monitoring.tick")


class Command(BaseCommand):
    help = "Run the periodic monitoring steps (rollups, data quality, escalation, warnings, outbox, retention)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=float, metavar="SECONDS", default=None,
                            help="Repeat every SECONDS until stopped (SIGTERM/SIGINT finish the current round).")
        parser.add_argument("--only", nargs="+", metavar="STEP", choices=[s[0] for s in tick.steps()],
                            help="Run only these steps.")

    def handle(self, *args, loop=None, only=None, **options):
        self.stopping = False
        if loop:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        failed = False
        rounds = 0
        while True:
            started = time.monotonic()
            if rounds:
                close_old_connections()  # a long-running loop: drop broken or expired connections between rounds
            rounds += 1
            results = tick.run_once(only=only)
            for r in results:
                line = f"{r.name:<14} {r.seconds:7.3f} s  {r.error or r.result}"
                self.stdout.write(self.style.ERROR(line) if r.error and not r.error.startswith("skipped")
                                  else line)
            failed = any(r.error and not r.error.startswith("skipped") for r in results)
            if not loop or self.stopping:
                break
            while not self.stopping and time.monotonic() - started < loop:
                time.sleep(min(0.5, loop))
            if self.stopping:
                break
        if failed and not loop:
            raise SystemExit(1)

    def _stop(self, signum, frame):
        self.stopping = True
