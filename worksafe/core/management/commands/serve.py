"""Serve the platform with uvicorn (ASGI; static files through WhiteNoise)."""

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Serve WorkSafe Fujian over HTTP with uvicorn."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)
        parser.add_argument("--simulate", action="store_true",
                            help="also run the gateway simulator inside this process (live data without a broker; "
                                 "see `worksafe simulate`)")

    def handle(self, *args, host, port, workers, simulate, **options):
        import uvicorn

        if simulate:
            if workers != 1:
                raise CommandError("--simulate needs --workers 1 (the simulator runs inside the server process)")
            import logging

            from worksafe.monitoring.simulator import start_in_thread

            logging.getLogger("worksafe.monitoring.simulator").setLevel(logging.WARNING)
            start_in_thread()
            self.stdout.write("Simulated gateways are sending readings (in-process).")
        self.stdout.write(f"WorkSafe Fujian: http://{host}:{port}/  (Ctrl+C to stop)")
        uvicorn.run("worksafe.asgi:application", host=host, port=port, workers=workers, log_level="info",
                    lifespan="off", timeout_graceful_shutdown=5)  # open SSE streams must not hold a stop
