"""Serve the platform with uvicorn (ASGI; static files through WhiteNoise)."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve WorkSafe Fujian over HTTP with uvicorn."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)

    def handle(self, *args, host, port, workers, **options):
        import uvicorn

        self.stdout.write(f"WorkSafe Fujian: http://{host}:{port}/  (Ctrl+C to stop)")
        uvicorn.run("worksafe.asgi:application", host=host, port=port, workers=workers, log_level="info",
                    lifespan="off")
