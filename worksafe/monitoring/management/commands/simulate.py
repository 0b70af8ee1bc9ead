"""`worksafe simulate`: simulated gateways send readings for the monitoring points in the database."""

import logging

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Simulate the gateways of the monitoring points in the database: realistic readings with daily cycles, "
            "noise, drift, threshold excursions, dropouts, duplicates and reordering, over MQTT, HTTP or in-process.")

    def add_arguments(self, parser):
        how = parser.add_mutually_exclusive_group(required=True)
        how.add_argument("--mqtt", metavar="HOST:PORT", help="publish with QoS 1 to this broker")
        how.add_argument("--http", metavar="URL",
                         help="POST to URL (the site root or …/api/v1/telemetry) with gateway tokens; the tokens "
                              "are issued for the gateways in the local database and kept in the state file")
        how.add_argument("--in-process", action="store_true",
                         help="call the ingest pipeline directly (on SQLite the live board only sees this "
                              "inside the web server: use `worksafe serve --simulate`)")
        parser.add_argument("--rate", type=float, default=None,
                            help="readings per second over all points (default: each point's sampling period)")
        parser.add_argument("--excursion-every", type=float, default=120.0,
                            help="mean seconds between threshold excursions (0: none)")
        parser.add_argument("--dropout-every", type=float, default=900.0,
                            help="mean seconds between gateway dropouts (0: none)")
        parser.add_argument("--duplicates", type=float, default=0.01, help="share of messages sent twice")
        parser.add_argument("--reorder", type=float, default=0.01, help="share of messages sent out of order")
        parser.add_argument("--speed", type=float, default=1.0,
                            help="the daily cycle and drift run this many times faster (timestamps stay real)")
        parser.add_argument("--seed", type=int, default=None, help="random seed")
        parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
        parser.add_argument("--state-file", default=None,
                            help="sequence numbers and tokens (default var/simulator-state.json)")

    def handle(self, *args, **o):
        from worksafe.monitoring import simulator as sim

        if o["rate"] is not None and o["rate"] <= 0:
            raise CommandError("--rate must be positive")
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("worksafe.monitoring").setLevel(logging.INFO)
        if o["mqtt"]:
            transport = sim.MqttTransport(o["mqtt"])
        elif o["http"]:
            transport = sim.HttpTransport(o["http"], tokens={})
        else:
            transport = sim.InProcessTransport()
        simulator = sim.Simulator(
            transport, rate=o["rate"], excursion_every=o["excursion_every"], speed=o["speed"], seed=o["seed"],
            state_file=o["state_file"], dropout_every=o["dropout_every"], duplicate_rate=o["duplicates"],
            reorder_rate=o["reorder"], issue_tokens=bool(o["http"]))
        self.stdout.write(f"worksafe simulate over {transport.name} (Ctrl+C to stop)")
        self.stdout.flush()
        try:
            stats = simulator.run(duration=o["duration"])
        except KeyboardInterrupt:
            stats = simulator.stats
        self.stdout.write(f"sent {stats.messages} messages, {stats.readings} readings ({stats.duplicates} duplicates, "
                          f"{stats.reordered} out of order, {stats.excursions} excursions, {stats.dropouts} dropouts, "
                          f"{stats.lost} messages lost at gateways)")
