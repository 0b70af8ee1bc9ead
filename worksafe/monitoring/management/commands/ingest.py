"""`worksafe ingest`: the MQTT ingest worker (see worksafe/monitoring/mqtt.py and docs/telemetry.md)."""

import logging
import sys
import time

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Ingest gateway telemetry from the MQTT broker: shared subscription, persistent session, "
            "acknowledged only after the database commit.")

    def add_arguments(self, parser):
        from worksafe.monitoring import mqtt

        parser.add_argument("--broker", default="127.0.0.1:1883", help="host:port of the MQTT broker")
        parser.add_argument("--client-id", default=None,
                            help="fixed MQTT client id of this worker (one per worker; default "
                                 "worksafe-ingest-<hostname>)")
        parser.add_argument("--group", default=mqtt.DEFAULT_GROUP, help="shared-subscription group")
        parser.add_argument("--topic", default=mqtt.TOPIC, help=argparse_suppress())
        parser.add_argument("--max-batch", type=int, default=500, help="messages per transaction at most")
        parser.add_argument("--max-wait-ms", type=int, default=20,
                            help="how long to wait for more messages after the first of a batch")
        parser.add_argument("--queue-size", type=int, default=2000,
                            help="messages held in memory at most (also the MQTT v5 Receive Maximum)")
        parser.add_argument("--protocol", type=int, choices=[5, 311], default=5, help="MQTT 5 or 3.1.1")
        parser.add_argument("--client", choices=["lean", "paho"], default="lean",
                            help="MQTT client: lean (the worker's own minimal subscriber, faster) or paho "
                                 "(paho-mqtt); see docs/telemetry.md")
        parser.add_argument("--session-expiry", type=int, default=7 * 86400,
                            help="MQTT v5 session expiry in seconds (how long the broker keeps queueing "
                                 "for this worker while it is away; 0 ends the session when the worker stops)")
        parser.add_argument("--max-backoff", type=float, default=30.0,
                            help="longest wait in seconds between retries while the database is unavailable")
        parser.add_argument("--health-file", default=None,
                            help="JSON health file, rewritten every second (default var/ingest-<client id>.json)")
        parser.add_argument("--check", action="store_true",
                            help="probe: exit 0 when the worker owning --health-file is healthy, 1 otherwise")
        parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")

    def handle(self, *args, **o):
        from django.conf import settings

        from worksafe.monitoring import mqtt

        client_id = o["client_id"] or mqtt.default_client_id()
        health = o["health_file"] or str(settings.VAR_DIR / f"ingest-{client_id}.json")
        if o["check"]:
            ok, why = mqtt.check_health(health)
            self.stdout.write(why)
            sys.exit(0 if ok else 1)
        if o["protocol"] == 311 and o["session_expiry"] == 0:
            raise CommandError("--session-expiry 0 (retiring a worker) needs --protocol 5: MQTT 3.1.1 has no "
                               "session expiry")
        if o["max_batch"] < 1 or o["queue_size"] < 1:
            raise CommandError("--max-batch and --queue-size must be at least 1")
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("worksafe.monitoring").setLevel(logging.INFO)
        worker = mqtt.Worker(o["broker"], client_id=client_id, group=o["group"], topic=o["topic"],
                             max_batch=o["max_batch"], max_wait_ms=o["max_wait_ms"], queue_size=o["queue_size"],
                             protocol=o["protocol"], session_expiry=o["session_expiry"], health_file=health,
                             max_backoff=o["max_backoff"], client=o["client"])
        worker.install_signal_handlers()
        self.stdout.write(f"worksafe ingest: {client_id} → {worker.subscription} on {worker.host}:{worker.port} "
                          f"({o['client']} client, MQTT {'5' if o['protocol'] == 5 else '3.1.1'})")
        self.stdout.flush()
        worker.start(wait=0)
        deadline = None
        if o["duration"]:
            deadline = time.monotonic() + o["duration"]
        try:
            worker.run(until=(lambda: time.monotonic() > deadline) if deadline else None)
        finally:
            worker.close()
        s = worker.stats
        self.stdout.write(f"stopped: {s.messages} messages acknowledged in {s.batches} batches, {s.readings} readings "
                          f"stored, {s.duplicates} duplicates, {s.rejected} rejected")


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS
