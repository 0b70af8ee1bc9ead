#!/usr/bin/env python
"""Telemetry ingest benchmark: MQTT → evaluated → durable in PostgreSQL → alarm state, end to end.

    .venv/bin/python bench/telemetry.py [--quick] [--reuse] [--profile] [--out FILE]

What one run does (docs/performance.md, "Telemetry ingest", explains the method and the figures):

1. (Re)creates the database `worksafe_bench_telemetry` (any URL via --database-url; a name without
   "bench" is never dropped), migrates it, and builds the site: 100 enterprises in Fujian counties, each
   with one major hazard source, one gateway and 1,000 points (100,000 points; thresholds LL 1, L 2,
   H 15, HH 18, deadband 0.2; normal values 4–12), and one enterprise user (alarm notifications).
2. Starts its own Mosquitto on 127.0.0.1:18830 from a temporary config (persistence off,
   max_inflight_messages / max_queued_messages large — see the docs for why).
3. Phases (each prints a line; the table at the end has the figures and ratios):
   inproc      Ingestor.process() in this process, no MQTT: the pipeline's own ceiling (+ --profile)
   slow        quiet gateways (one reading per message every 5 s each: a row per message), in-process,
               then the compaction step; disk per reading before and after (VACUUM FULL to measure it)
   copy        raw COPY ceiling: the same rows (built from the same payloads, untimed) written with
               binary COPY straight into the same table, one transaction per micro-batch, no decoding;
               also times JSON decoding alone (codec.decode) of the same payloads on one core
   publisher   the publisher's + broker's own ceiling (no subscriber): publish → all PUBACKs
   transport   publisher → broker → a subscriber (bench/telemetry_subscribe.py) that acknowledges at
               once and stores nothing: what MQTT alone carries to a worker on this machine
   batched     1 worker, 100-reading messages, published as fast as possible
   batched×2   2 workers on one shared subscription, same traffic
   unbatched   1 worker, 1-reading messages   (and unbatched×2)
   latency     100,000 readings/s offered at a steady pace (1,000 messages/s of 100 readings) with
               ~20 excursions/s; a psycopg LISTEN on `worksafe_live` times publish → alarm NOTIFY
   Readings/s = readings durable (gateways' `received` × readings per message, checked against SUM(n)
   at the end) over wall time from the first publish to the last commit. Each storing phase stamps its
   readings on a UTC day of its own (in the past, later than the previous phase's), so disk bytes per
   reading = growth of that day partition's pg_total_relation_size (heap + TOAST + indexes) / growth of
   its SUM(n). Worker peak memory = VmHWM. CPU split from /proc/<pid>/stat.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/worksafe_bench_telemetry"
ALL_PHASES = ["inproc", "slow", "copy", "publisher", "transport", "batched", "batched2", "unbatched", "unbatched2", "latency"]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from telemetry_publish import Connection, Templates  # noqa: E402  (the publisher's raw client and payloads)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=os.environ.get("BENCH_TELEMETRY_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--gateways", type=int, default=100)
    p.add_argument("--points", type=int, default=100, help="points per gateway (default 100: a 100-reading "
                   "message is one scan of the gateway)")
    p.add_argument("--batched-messages", type=int, default=40_000, help="100-reading messages per batched phase")
    p.add_argument("--unbatched-messages", type=int, default=150_000, help="1-reading messages per unbatched phase")
    p.add_argument("--timeout", type=float, default=60, help="seconds a phase may wait for its messages to be stored")
    p.add_argument("--latency-rate", type=int, default=100_000, help="readings/s offered in the latency phase")
    p.add_argument("--latency-seconds", type=float, default=15)
    p.add_argument("--excursions", type=float, default=20, help="excursions/s in the latency phase")
    p.add_argument("--port", type=int, default=18830)
    p.add_argument("--inflight", type=int, default=5000, help="broker max_inflight_messages (per client)")
    p.add_argument("--max-batch", type=int, default=500, help="worker: messages per transaction at most")
    p.add_argument("--max-wait-ms", type=int, default=20, help="worker: wait for more messages after the first")
    p.add_argument("--queue-size", type=int, default=5000, help="worker: messages held in memory (v5 Receive Maximum)")
    p.add_argument("--protocol", type=int, choices=[5, 311], default=5, help="worker: MQTT 5 (default) or 3.1.1")
    p.add_argument("--client", choices=["paho", "lean"], default="lean",
                   help="worker's MQTT client: lean (default, as in `worksafe ingest`: our own, over a plain "
                        "socket) or paho (paho-mqtt); --protocol applies to both")
    p.add_argument("--phases", default=",".join(ALL_PHASES))
    p.add_argument("--reuse", action="store_true", help="keep the database if it already holds the site")
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run in about a minute")
    p.add_argument("--profile", action="store_true", help="cProfile the in-process pipeline (top functions)")
    p.add_argument("--out", help="also write the Markdown report to this file")
    args = p.parse_args(argv)
    if args.quick:
        args.batched_messages, args.unbatched_messages, args.latency_seconds = 5_000, 30_000, 5
    args.phases = [x.strip() for x in args.phases.split(",") if x.strip()]
    return args


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- database and site -------------------------------------------------------------------------------

def recreate_database(url: str, keep: bool) -> bool:
    """Drop and create the database (keep=True: only create it when missing). True if it is new."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"refusing to use database {name!r}: its name must contain 'bench'")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and keep:
            return False
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


def worker_env(url: str) -> dict:
    env = dict(os.environ, WORKSAFE_DEV="True", DEBUG="False", DATABASE_URL=url, LOG_LEVEL="WARNING",
               DJANGO_SETTINGS_MODULE="worksafe.settings")
    env.pop("WORKSAFE_FAULT", None)
    return env


def setup_django(url: str) -> None:
    os.environ.update(worker_env(url))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def build_site(gateways: int, points: int) -> None:
    from django.db import transaction

    from worksafe.core import roles as R
    from worksafe.core.models import Jurisdiction
    from worksafe.core.testing import make_enterprise, make_user
    from worksafe.monitoring.models import Point
    from worksafe.monitoring.testing import hazard_of, make_gateway

    counties = list(Jurisdiction.objects.filter(code__startswith="35", code__regex=r"^\d{6}$")
                    .exclude(code__endswith="00").order_by("code").values_list("code", flat=True))
    kinds = [("LT", "level", "m"), ("TT", "temperature", "°C"), ("PT", "pressure", "MPa"),
             ("AT", "flammable_gas", "%LEL")]
    with transaction.atomic():
        for g in range(gateways):
            county = counties[g % len(counties)]
            ent = make_enterprise(f"基准化工{g + 1:03d}有限公司", county, with_org=True)
            make_user(f"bench_ent_{g + 1:03d}", ent.organisation, [R.ENTERPRISE_STAFF], full_name="值班员")
            hazard = hazard_of(ent)
            gw = make_gateway(ent, "GW01")
            rows = []
            for j in range(points):
                prefix, kind, unit = kinds[j % len(kinds)]
                rows.append(Point(enterprise=ent, hazard=hazard, gateway=gw, code=f"{prefix}-{1000 + j}",
                                  name=f"{j + 1}#监测点", kind=kind, unit=unit, range_low=0, range_high=20,
                                  low_low=1, low=2, high=15, high_high=18, deadband=0.2, sampling_period=10))
            Point.objects.bulk_create(rows, batch_size=2000)
    with transaction.atomic():
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("ANALYZE")


def site_spec() -> list:
    from worksafe.monitoring.models import Gateway, Point

    out = []
    for gw in Gateway.objects.select_related("enterprise").order_by("id"):
        codes = list(Point.objects.filter(gateway=gw).order_by("id").values_list("code", flat=True))
        out.append([gw.enterprise.credit_code, gw.code, codes])
    return out


def received_total() -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT COALESCE(SUM(received), 0)::bigint, COALESCE(MAX(max_seq), -1) FROM monitoring_gateway")
        return cur.fetchone()


def readings_stored() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*), COALESCE(SUM(n), 0)::bigint FROM monitoring_readingbatch")
        return cur.fetchone()


def partition_stats(day) -> tuple[int, int]:
    """(bytes on disk, readings) of one day partition of the reading table (heap, TOAST and indexes)."""
    from django.db import connection

    from worksafe.monitoring import store

    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [store.partition_name(day)])
        if not cur.fetchone()[0]:
            return 0, 0
        cur.execute(f"SELECT pg_total_relation_size(%s), (SELECT COALESCE(SUM(n), 0) FROM {store.partition_name(day)})",
                    [store.partition_name(day)])
        size, n = cur.fetchone()
        return int(size), int(n)


def disk_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT COALESCE(SUM(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits "
                    "WHERE inhparent = 'monitoring_readingbatch'::regclass")
        return int(cur.fetchone()[0])


def alarms_raised() -> int:
    from worksafe.monitoring.models import Alarm

    return Alarm.objects.count()


def between_phases() -> None:
    """No point left in alarm (an excursion whose clearing scan never came), and VACUUM of the two small
    tables every micro-batch updates: autovacuum is off on this machine's PostgreSQL (a test setting),
    where a production server would run it."""
    from django.db import connection

    from worksafe.monitoring.models import Point

    Point.objects.exclude(alarm_mask=0, pending_mask=0).update(alarm_mask=0, pending_mask=0, pending_since={})
    with connection.cursor() as cur:
        cur.execute("VACUUM monitoring_point, monitoring_gateway")


# --- process accounting ----------------------------------------------------------------------------------

CLK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK
    except (OSError, IndexError):
        return 0.0


def postgres_cpu() -> float:
    total = 0.0
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() == "postgres":
                    total += proc_cpu(int(d.name))
            except OSError:
                continue
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, total) seconds of all cores since boot."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    return (sum(parts[:8]) - idle) / CLK, sum(parts[:8]) / CLK


def vm_hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class CpuSplit:
    def __init__(self, procs: dict[str, list[int]]):
        self.procs = procs
        self.t0 = time.time()
        self.start = self._snap()

    def _snap(self) -> dict:
        out = {name: sum(proc_cpu(p) for p in pids) for name, pids in self.procs.items()}
        out["postgres"] = postgres_cpu()
        out["_machine"] = machine_cpu()[0]
        return out

    def stop(self, extra: dict | None = None) -> dict:
        end = self._snap()
        wall = time.time() - self.t0
        out = {k: (end[k] - self.start[k]) / wall for k in end}
        out.update(extra or {})
        out["_wall"] = wall
        return out


# --- broker, publisher, workers ------------------------------------------------------------------------

class Broker:
    def __init__(self, port: int, inflight: int, tmp: Path):
        self.conf = tmp / "mosquitto.conf"
        self.conf.write_text("\n".join([
            f"listener {port} 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            f"max_inflight_messages {inflight}",
            "max_queued_messages 0",  # unlimited: a backlog larger than a worker's window queues in the broker
            "max_queued_bytes 0",
            "set_tcp_nodelay true",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "",
        ]))
        self.log = open(tmp / "mosquitto.log", "w")
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        import socket

        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"mosquitto did not start on port {port}: see {tmp / 'mosquitto.log'}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Publisher:
    def __init__(self, spec: dict, tmp: Path, name: str):
        name = "".join(c if c.isalnum() else "_" for c in name)
        self.spec_path = tmp / f"pub-{name}.json"
        self.result_path = tmp / f"pub-{name}.result.json"
        spec = dict(spec, result=str(self.result_path))
        self.spec_path.write_text(json.dumps(spec))
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("telemetry_publish.py")),
                                      str(self.spec_path)])

    def wait(self) -> dict:
        rc = self.proc.wait()
        if rc:
            raise SystemExit(f"publisher failed ({rc})")
        return json.loads(self.result_path.read_text())


class Worker:
    def __init__(self, name: str, args, tmp: Path):
        self.name = name
        self.port = args.port
        self.health = tmp / f"{name}.health.json"
        self.logfile = open(tmp / f"{name}.log", "w")
        cmd = [str(BIN / "worksafe"), "ingest", "--broker", f"127.0.0.1:{args.port}", "--client-id", name,
               "--max-batch", str(args.max_batch), "--max-wait-ms", str(args.max_wait_ms),
               "--queue-size", str(args.queue_size), "--protocol", str(args.protocol), "--client", args.client,
               "--health-file", str(self.health)]
        self.proc = subprocess.Popen(cmd, env=worker_env(args.database_url), stdout=self.logfile,
                                     stderr=subprocess.STDOUT, cwd=ROOT)

    def state(self) -> dict:
        try:
            return json.loads(self.health.read_text())
        except (OSError, ValueError):
            return {}

    def wait_connected(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"worker {self.name} exited: see {self.logfile.name}")
            if self.state().get("connected"):
                return
            time.sleep(0.2)
        raise SystemExit(f"worker {self.name} did not connect: see {self.logfile.name}")

    def stop(self) -> dict:
        hwm = vm_hwm(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        # The worker's persistent session stays subscribed to the shared subscription: the broker would go
        # on queueing its share of every later message for it. End the session (a clean-session connect).
        Connection(self.port, self.name).close()
        return {"hwm": hwm, "stats": self.state().get("stats", {})}


# --- phases ---------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args, tmp: Path):
        self.args = args
        self.tmp = tmp
        self.site = site_spec()
        self.seq = 1 + max(received_total()[1], -1)  # next sequence number of every gateway
        self.results: dict[str, dict] = {}
        self.broker: Broker | None = None
        self.credit_to_ent = self._credit_to_ent()
        self.decode_rates: dict[int, float] = {}  # readings per message → codec.decode readings/s (phase_copy)
        # Each phase that stores readings stamps them on a UTC day of its own (so its partition is measured
        # alone), in the past and later than the previous phase's day (so no reading is late for its point).
        import datetime

        today = datetime.datetime.now(datetime.UTC).date()
        self.days = [today - datetime.timedelta(days=15 - k) for k in range(12)]
        from django.db import connection

        from worksafe.monitoring import store

        with connection.cursor() as cur:  # --reuse: start those days empty (a bench database only) …
            for day in self.days:
                cur.execute(f"DROP TABLE IF EXISTS {store.partition_name(day)}")
            # … and forget the points' newest readings, or every reading of these earlier days would be late
            cur.execute("UPDATE monitoring_point SET last_ts = NULL, last_value = NULL, state_ts = NULL")
        from worksafe.monitoring.models import Alarm

        Alarm.objects.all().delete()  # the same excursions again would find their alarms of the last run

    def next_day(self):
        """(day, epoch ms of 01:00 UTC that day) for the next phase."""
        import calendar

        day = self.days.pop(0)
        return day, calendar.timegm(day.timetuple()) * 1000 + 3_600_000

    @staticmethod
    def disk_per_reading(day, before: tuple[int, int]) -> float | None:
        size, n = partition_stats(day)
        return (size - before[0]) / (n - before[1]) if n > before[1] else None

    @staticmethod
    def _credit_to_ent() -> dict:
        from worksafe.enterprises.models import Enterprise

        return dict(Enterprise.objects.values_list("credit_code", "id"))

    def take_seq(self, messages: int) -> int:
        start = self.seq
        self.seq += -(-messages // len(self.site))
        return start

    # in-process -----------------------------------------------------------------------------------------
    def build_messages(self, per_msg: int, messages: int, seq0: int, base_ms: int, excursion_every: int = 0):
        from worksafe.monitoring.ingest import Message

        t = Templates(self.site, per_msg)
        gws = len(self.site)
        out = []
        for i in range(messages - messages % gws):
            g, r = i % gws, i // gws
            exc = 7 if excursion_every and i % excursion_every == excursion_every // 2 else None
            body = t.payload(g, seq0 + r, base_ms + r * 10, excursion=exc)
            out.append(Message(body, source="bench", credit_code=self.site[g][0], gateway_code=self.site[g][1]))
        return out

    def phase_inproc(self, per_msg: int, messages: int, label: str) -> dict:
        from django.db import connection

        from worksafe.monitoring.ingest import Ingestor

        between_phases()
        seq0 = self.take_seq(messages)
        day, base = self.next_day()
        msgs = self.build_messages(per_msg, messages, seq0, base, excursion_every=max(1, 1_000_000 // per_msg))
        ing = Ingestor()
        B = self.args.max_batch
        ing.process(msgs[:B])  # warm: partitions, directory, caches
        rest = msgs[B:]
        prof = None
        if self.args.profile:
            import cProfile

            prof = cProfile.Profile()
        before = partition_stats(day)
        started = time.perf_counter()
        cpu0 = time.process_time()
        if prof:
            prof.enable()
        for k in range(0, len(rest), B):
            ing.process(rest[k:k + B])
        if prof:
            prof.disable()
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu0
        ing.flush_last_values(force=True)
        connection.close()
        n = len(rest) * per_msg
        out = {"label": label, "readings": n, "messages": len(rest), "wall": wall, "rate": n / wall,
               "msg_rate": len(rest) / wall, "cpu": cpu / wall, "disk": self.disk_per_reading(day, before)}
        if prof:
            import io
            import pstats

            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(35)
            out["profile"] = s.getvalue()
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(25)
            out["profile_tottime"] = s.getvalue()
        log(f"{label}: {n:,} readings in {wall:.2f} s = {n / wall:,.0f} readings/s "
            f"({len(rest) / wall:,.0f} msg/s), CPU {cpu / wall:.0%} of a core")
        return out

    def phase_slow(self, rounds: int, label: str) -> dict:
        """Quiet gateways: each sends one reading every 5 s, so a micro-batch holds one message per gateway and
        every message gets a row of its own; then the compaction step (compact.py) merges those rows. Disk per
        reading as ingested, and after compaction (VACUUM FULL of the phase's partition, to measure what the
        live rows take; in production the freed space is reused by new rows instead)."""
        import datetime

        from django.db import connection, transaction

        from worksafe.monitoring import compact, store
        from worksafe.monitoring.ingest import Ingestor, Message

        between_phases()
        day, base = self.next_day()
        gws = len(self.site)
        seq0 = self.take_seq(rounds * gws)
        t = Templates(self.site, 1)
        batches = [[Message(t.payload(g, seq0 + r, base + r * 5000), source="bench", credit_code=self.site[g][0],
                            gateway_code=self.site[g][1]) for g in range(gws)] for r in range(rounds)]
        ing = Ingestor()
        before = partition_stats(day)
        time.sleep(0.01)
        since = datetime.datetime.now(datetime.UTC)  # rows received after this are the phase's own
        for batch in batches:
            ing.process(batch)
        ing.flush_last_values(force=True)
        connection.close()
        size, n = partition_stats(day)
        as_ingested = (size - before[0]) / (n - before[1])
        upto = datetime.datetime.now(datetime.UTC)
        started = time.perf_counter()
        with transaction.atomic():
            got = compact.compact_window(since, upto)
        wall = time.perf_counter() - started
        with connection.cursor() as cur:
            cur.execute(f"VACUUM FULL {store.partition_name(day)}")
        size, n = partition_stats(day)
        out = {"label": label, "readings": n, "as_ingested": as_ingested, "compacted": size / n, "rows": got["merged"],
               "written": got["written"], "compact_wall": wall}
        log(f"{label}: {n:,} one-reading messages, {as_ingested:.1f} B/reading as ingested; compaction merged "
            f"{got['merged']:,} rows into {got['written']:,} in {wall:.2f} s; {size / n:.1f} B/reading after it")
        return out

    # raw COPY ceiling --------------------------------------------------------------------------------------
    def phase_copy(self, per_msg: int, messages: int, label: str) -> dict:
        """The same rows the pipeline stores, pre-built (decode + pack untimed), binary COPY per micro-batch."""
        import datetime

        import numpy as np
        import psycopg

        from worksafe.monitoring import codec, store
        from worksafe.monitoring.ingest import Directory

        d = Directory("default")
        gw_ids = {(g.credit_code, g.code): g.id for g in d.by_topic.values()}
        from django.db import connection

        with connection.cursor() as cur:  # a sequence range of its own, far above the gateways' real ones
            cur.execute("SELECT COALESCE(MAX(seq), 1000000000000 - 1) + 1 FROM monitoring_readingbatch "
                        "WHERE seq >= 1000000000000")
            seq0 = cur.fetchone()[0]
        day, base = self.next_day()
        msgs = self.build_messages(per_msg, messages, seq0, base)
        # For comparison, in the same run: JSON decoding alone (codec.decode, the pipeline's first step), one core.
        started = time.perf_counter()
        for m in msgs:
            codec.decode(m.payload)
        decode_wall = time.perf_counter() - started
        self.decode_rates[per_msg] = len(msgs) * per_msg / decode_wall
        log(f"JSON decode alone ({per_msg}/msg): {self.decode_rates[per_msg]:,.0f} readings/s on one core")
        now = datetime.datetime.now(datetime.UTC)
        packed = []
        for m in msgs:  # what the pipeline would write (untimed)
            gw = d.by_topic[(m.credit_code, m.gateway_code)]
            dec = codec.decode(m.payload)
            idx = np.array([d.index[(gw.enterprise_id, c)] for c in dec.points])
            t0, data = codec.pack(d.ids[idx], np.array(dec.ts, dtype=np.int64), np.array(dec.values),
                                  np.array(dec.quality, dtype=np.uint8))
            packed.append((gw_ids[(m.credit_code, m.gateway_code)], dec.seq, t0, data))
        B = self.args.max_batch
        batches = [store.coalesce(*store.entries_from(packed[k:k + B])) for k in range(0, len(packed), B)]
        store.ensure_partitions({r.day for rows in batches for r in rows})
        buffers = [store.copy_data(rows, now) for rows in batches]  # encoded untimed
        rows = [r for rows in batches for r in rows]
        before = partition_stats(day)
        cols = ", ".join(store.COLUMNS)
        with psycopg.connect(self.args.database_url) as conn:
            started = time.perf_counter()
            for buf in buffers:
                with conn.cursor() as cur, cur.copy(f"COPY {store.TABLE} ({cols}) FROM STDIN (FORMAT binary)") as cp:
                    cp.write(buf)
                conn.commit()
            wall = time.perf_counter() - started
        n = len(packed) * per_msg
        log(f"{label}: {n:,} readings ({len(packed):,} messages in {len(rows):,} rows) in {wall:.2f} s = "
            f"{n / wall:,.0f} readings/s")
        return {"label": label, "readings": n, "messages": len(packed), "wall": wall, "rate": n / wall,
                "msg_rate": len(packed) / wall, "disk": self.disk_per_reading(day, before),
                "decode_rate": self.decode_rates[per_msg]}

    # MQTT -----------------------------------------------------------------------------------------------------
    def ensure_broker(self) -> None:
        if self.broker is None:
            self.broker = Broker(self.args.port, self.args.inflight, self.tmp)
            log(f"mosquitto on 127.0.0.1:{self.args.port} (config {self.broker.conf})")

    def pub_spec(self, per_msg: int, messages: int, **extra) -> dict:
        return {"site": self.site, "per_msg": per_msg, "messages": messages, "seq_start": self.take_seq(messages),
                "port": self.args.port, **extra}

    def phase_publisher(self, per_msg: int, messages: int, label: str) -> dict:
        """Publisher + broker alone (nobody subscribed): publish → every PUBACK back."""
        self.ensure_broker()
        spec = self.pub_spec(per_msg, messages)
        self.seq -= -(-messages // len(self.site))  # nothing is stored: reuse the numbers
        cpu = CpuSplit({"broker": [self.broker.proc.pid]})
        res = Publisher(spec, self.tmp, label).wait()
        split = cpu.stop()
        wall = res["acked_done"] - res["started"]
        log(f"{label}: {res['readings']:,} readings in {wall:.2f} s = {res['readings'] / wall:,.0f} readings/s "
            f"({res['messages'] / wall:,.0f} msg/s); publisher CPU {res['cpu_s'] / wall:.0%}")
        return {"label": label, "readings": res["readings"], "messages": res["messages"], "wall": wall,
                "rate": res["readings"] / wall, "msg_rate": res["messages"] / wall,
                "cpu_split": {"publisher": res["cpu_s"] / wall, "broker": split["broker"] * split["_wall"] / wall},
                "payload_bytes": res["bytes"]}

    def phase_transport(self, per_msg: int, messages: int, label: str) -> dict:
        """Publisher → Mosquitto → a subscriber on the workers' shared subscription that acknowledges every
        message at once and stores nothing (bench/telemetry_subscribe.py): what the transport alone carries."""
        self.ensure_broker()
        count = self.tmp / "transport.count"
        count.unlink(missing_ok=True)
        sub = subprocess.Popen([sys.executable, str(Path(__file__).with_name("telemetry_subscribe.py")),
                                str(self.args.port), "bench-transport", str(count)])
        try:
            deadline = time.time() + 30
            while not count.exists() and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)  # SUBSCRIBE sent just after the count file appears
            spec = self.pub_spec(per_msg, messages)
            self.seq -= -(-messages // len(self.site))  # nothing is stored: reuse the numbers
            total = messages - messages % len(self.site)
            cpu = CpuSplit({"broker": [self.broker.proc.pid], "subscriber": [sub.pid]})
            res = Publisher(spec, self.tmp, label).wait()
            deadline = time.time() + self.args.timeout
            got, last = 0, 0.0
            while time.time() < deadline:
                got, last = (float(x) for x in count.read_text().split())
                if got >= total:
                    break
                time.sleep(0.05)
            split = cpu.stop()
        finally:
            sub.kill()
            sub.wait()
        wall = last - res["started"]
        log(f"{label}: {int(got):,} of {total:,} messages in {wall:.2f} s = {got / wall:,.0f} msg/s "
            f"({got * per_msg / wall:,.0f} readings/s); publisher CPU {res['cpu_s'] / wall:.0%}")
        return {"label": label + ("" if got >= total else " (INCOMPLETE)"), "readings": int(got) * per_msg,
                "messages": int(got), "wall": wall, "rate": got * per_msg / wall, "msg_rate": got / wall,
                "cpu_split": {"publisher": res["cpu_s"] / wall, "broker": split["broker"] * split["_wall"] / wall,
                              "subscriber": split["subscriber"] * split["_wall"] / wall}}

    def start_workers(self, n: int, base_ms: int | None = None) -> list[Worker]:
        self.ensure_broker()
        workers = [Worker(f"bench-w{i + 1}", self.args, self.tmp) for i in range(n)]
        self.workers = workers  # stopped by close() if a phase fails
        for w in workers:
            w.wait_connected()
        time.sleep(0.5)  # SUBSCRIBE after CONNACK
        # Warm-up through the broker: every worker has loaded its directory and seen a batch.
        for _ in range(20):
            msgs = 2 * len(self.site)
            r0 = received_total()[0]
            extra = {} if base_ms is None else {"base_ms": base_ms}
            Publisher(self.pub_spec(1, msgs, **extra), self.tmp, "warmup").wait()
            self.wait_received(r0 + msgs, timeout=120)
            if all(w.state().get("stats", {}).get("messages", 0) for w in workers):
                break
        return workers

    def wait_received(self, target: int, timeout: float, samples: list | None = None) -> float:
        """Poll the gateways' counters until `target` messages are stored; the time it was seen. On timeout,
        the time of the last progress (the phase is then reported as incomplete, with what was stored)."""
        deadline = time.time() + timeout
        last_got, last_at = -1, time.time()
        while time.time() < deadline:
            got = received_total()[0]
            now = time.time()
            if samples is not None:
                samples.append((now, got))
            if got >= target:
                return now
            if got != last_got:
                last_got, last_at = got, now
            time.sleep(0.05)
        log(f"timed out: {target - last_got:,} messages not stored after {timeout:.0f} s")
        return last_at

    def phase_pipeline(self, per_msg: int, messages: int, workers: int, label: str) -> dict:
        between_phases()
        day, base = self.next_day()
        ws = self.start_workers(workers, base - 60_000)  # warm-up readings just before the phase's own
        r0 = received_total()[0]
        a0 = alarms_raised()
        d0 = partition_stats(day)
        every = max(1, 200_000 // per_msg)  # one excursion per 200,000 readings
        spec = self.pub_spec(per_msg, messages, excursion_every=every, base_ms=base)
        total = messages - messages % len(self.site)
        cpu = CpuSplit({"workers": [w.proc.pid for w in ws], "broker": [self.broker.proc.pid],
                        "bench": [os.getpid()]})
        pub = Publisher(spec, self.tmp, label)
        samples: list = []
        done = self.wait_received(r0 + total, timeout=self.args.timeout, samples=samples)
        stored = received_total()[0] - r0
        res = pub.wait()
        split = cpu.stop()
        # the publisher's own CPU, over the same window (its build is before `started`, untimed)
        split["publisher"] = res["cpu_s"] / split["_wall"]
        wall = done - res["started"]
        complete = stored >= total
        total = min(total, stored)
        readings = total * per_msg
        steady = steady_rate(samples, r0, total) * per_msg
        stops = [w.stop() for w in ws]
        a1 = alarms_raised()
        exc = len(res["excursions"])
        out = {"label": label + ("" if complete else " (INCOMPLETE: timed out)"), "readings": readings,
               "messages": total, "wall": wall, "rate": readings / wall,
               "msg_rate": total / wall, "steady": steady, "publish_wall": res["sent_done"] - res["started"],
               "hwm": max(s["hwm"] for s in stops), "per_worker": [s["stats"].get("messages", 0) for s in stops],
               "batches": sum(s["stats"].get("batches", 0) for s in stops),
               "disk": self.disk_per_reading(day, d0), "alarms": a1 - a0, "excursions": exc, "cpu_split": split}
        log(f"{label}: {readings:,} readings in {wall:.2f} s = {readings / wall:,.0f} readings/s "
            f"({total / wall:,.0f} msg/s; steady {steady:,.0f}/s), publishing took {out['publish_wall']:.1f} s, "
            f"worker peak RSS {out['hwm'] / 2**20:.0f} MiB, alarms {a1 - a0}/{exc}, split {fmt_split(split)}")
        return out

    def phase_latency(self, label: str) -> dict:
        import psycopg

        between_phases()
        per_msg = 100
        rate = self.args.latency_rate / per_msg
        messages = int(rate * self.args.latency_seconds)
        ws = self.start_workers(1)
        r0 = received_total()[0]
        notes: list = []
        stop = threading.Event()
        ready = threading.Event()

        def listen():
            with psycopg.connect(self.args.database_url, autocommit=True) as conn:
                conn.execute("LISTEN worksafe_live")
                ready.set()
                while not stop.is_set():
                    for n in conn.notifies(timeout=0.2):
                        notes.append((time.time(), n.payload))

        th = threading.Thread(target=listen, daemon=True)
        th.start()
        ready.wait(10)
        spec = self.pub_spec(per_msg, messages, rate=rate, excursions=self.args.excursions)
        total = messages - messages % len(self.site)
        cpu = CpuSplit({"workers": [w.proc.pid for w in ws], "broker": [self.broker.proc.pid],
                        "bench": [os.getpid()]})
        pub = Publisher(spec, self.tmp, label)
        samples: list = []
        done = self.wait_received(r0 + total, timeout=self.args.latency_seconds + self.args.timeout, samples=samples)
        res = pub.wait()
        time.sleep(0.5)
        stop.set()
        th.join(5)
        split = cpu.stop()
        split["publisher"] = res["cpu_s"] / split["_wall"]
        stops = [w.stop() for w in ws]
        sent = {}
        for credit, point, ts_ms, sent_at in res["excursions"]:
            sent[(self.credit_to_ent[credit], point, ts_ms)] = sent_at
        lat = []
        for recv, payload in notes:
            ev = json.loads(payload)
            if ev.get("type") != "alarm" or ev.get("change") != "raised":
                continue
            import datetime

            ms = round(datetime.datetime.fromisoformat(ev["raised_at"]).timestamp() * 1000)
            at = sent.pop((ev["enterprise_id"], ev["point"], ms), None)
            if at is not None:
                lat.append(recv - at)
        lat.sort()
        wall = done - res["started"]
        out = {"label": label, "readings": total * per_msg, "messages": total, "wall": wall,
               "rate": total * per_msg / wall, "offered": self.args.latency_rate,
               "excursions": len(res["excursions"]), "matched": len(lat), "missing": len(sent),
               "p50": pct(lat, 50), "p99": pct(lat, 99), "max": lat[-1] if lat else None,
               "hwm": max(s["hwm"] for s in stops), "cpu_split": split}
        log(f"{label}: offered {self.args.latency_rate:,}/s, stored {out['rate']:,.0f}/s; alarm latency "
            f"p50 {fmt_ms(out['p50'])} p99 {fmt_ms(out['p99'])} max {fmt_ms(out['max'])} "
            f"({len(lat)} of {len(res['excursions'])} excursions; split {fmt_split(split)})")
        return out

    def close(self) -> None:
        for w in getattr(self, "workers", []):
            if w.proc.poll() is None:
                w.stop()
        if self.broker is not None:
            self.broker.stop()


def steady_rate(samples: list, r0: int, total: int) -> float:
    """Messages/s between 10% and 90% of the phase (excludes the ramp-up and the tail)."""
    lo = hi = None
    for t, got in samples:
        done = got - r0
        if lo is None and done >= 0.1 * total:
            lo = (t, done)
        if done >= 0.9 * total:
            hi = (t, done)
            break
    if not lo or not hi or hi[0] <= lo[0]:
        return 0.0
    return (hi[1] - lo[1]) / (hi[0] - lo[0])


def pct(values: list[float], q: float):
    if not values:
        return None
    import math

    return values[max(0, math.ceil(q / 100 * len(values)) - 1)]


def fmt_ms(s) -> str:
    return "–" if s is None else f"{s * 1000:.0f} ms"


def fmt_split(split: dict) -> str:
    keys = [k for k in ("workers", "postgres", "broker", "publisher", "bench") if k in split]
    parts = [f"{k} {split[k] * 100:.0f}%" for k in keys]
    parts.append(f"machine {split['_machine'] * 100:.0f}%")
    return ", ".join(parts)


# --- report ---------------------------------------------------------------------------------------------

def report(args, res: dict, meta: dict) -> str:
    def rate(key):
        r = res.get(key)
        return r["rate"] if r else None

    lines = [f"# Telemetry ingest benchmark — {meta['when']}", "",
             f"`{meta['command']}` · git {meta['git']} · {meta['site']} · PostgreSQL {meta['pg']} · "
             f"Python {platform.python_version()} · {os.cpu_count()} cores · load before {meta['load']}", "",
             "| Measurement | readings/s | messages/s | wall s | worker peak RSS | disk B/reading | "
             "CPU: workers / postgres / broker / publisher (machine) |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for key, r in res.items():
        if "rate" not in r:
            continue
        split = r.get("cpu_split") or {}
        cpu = ""
        if "workers" in split:
            cpu = (f"{split['workers']:.0%} / {split['postgres']:.0%} / {split['broker']:.0%} / "
                   f"{split['publisher']:.0%} ({split['_machine']:.0%} of 200%)")
        elif key.startswith("inproc"):
            cpu = f"bench process {r['cpu']:.0%}"
        elif "subscriber" in split:
            cpu = f"subscriber {split['subscriber']:.0%} / – / {split['broker']:.0%} / {split['publisher']:.0%}"
        elif "publisher" in split:
            cpu = f"– / – / {split['broker']:.0%} / {split['publisher']:.0%}"
        hwm = f"{r['hwm'] / 2**20:.0f} MiB" if r.get("hwm") else "–"
        disk = f"{r['disk']:.1f}" if r.get("disk") else "–"
        lines.append(f"| {r['label']} | {r['rate']:,.0f} | {r['msg_rate'] if 'msg_rate' in r else r['messages'] / r['wall']:,.0f} "
                     f"| {r['wall']:.2f} | {hwm} | {disk} | {cpu} |")
    lines.append("")
    goals = []

    def goal(name, value, target, ok, fmt="{:,.0f}"):
        if value is None:
            goals.append(f"| {name} | – | {target} | not measured |")
        else:
            goals.append(f"| {name} | {fmt.format(value)} | {target} | {'met' if ok(value) else 'missed'} |")

    goal("batched readings/s (1 worker)", rate("batched"), "≥ 250,000", lambda v: v >= 250_000)
    goal("batched readings/s (2 workers)", rate("batched2"), "≥ 250,000", lambda v: v >= 250_000)
    goal("unbatched readings/s (1 worker)", rate("unbatched"), "≥ 25,000", lambda v: v >= 25_000)
    goal("unbatched readings/s (2 workers)", rate("unbatched2"), "≥ 25,000", lambda v: v >= 25_000)
    slow = res.get("slow")
    if slow:
        goal("disk bytes per reading (slow one-reading gateways, as ingested)", slow["as_ingested"], "≤ 60",
             lambda v: v <= 60, "{:.1f}")
        goal("disk bytes per reading (slow one-reading gateways, after compaction)", slow["compacted"], "≤ 60",
             lambda v: v <= 60, "{:.1f}")
    lat = res.get("latency")
    goal("alarm latency p50 at 100k/s", lat and lat["p50"], "–", lambda v: True, "{:.3f} s")
    goal("alarm latency p99 at 100k/s", lat and lat["p99"], "≤ 1 s", lambda v: v <= 1.0, "{:.3f} s")
    for key, ck in (("batched", "copy"), ("unbatched", "copy_unbatched")):
        if rate(key) and rate(ck):
            ratio = rate(ck) / rate(key)
            goals.append(f"| raw COPY / pipeline ({key}) | {ratio:.1f}× | ≤ 2× | {'met' if ratio <= 2 else 'missed'} |")
    for key, ck, tk in (("batched", "copy", "transport"), ("unbatched", "copy_unbatched", "transport_unbatched")):
        if rate(ck) and res.get(ck, {}).get("decode_rate"):
            goals.append(f"| (raw COPY / JSON decoding alone on one core, {key}) | "
                         f"{rate(ck) / res[ck]['decode_rate']:.1f}× | – | |")
        if rate(ck) and rate(tk):
            goals.append(f"| (raw COPY / transport ceiling with no database, {key}) | {rate(ck) / rate(tk):.1f}× | – | |")
    for key in ("batched", "unbatched"):
        r = res.get(key)
        if r and r.get("disk"):
            goal(f"disk bytes per reading ({key})", r["disk"], "≤ 60", lambda v: v <= 60, "{:.1f}")
    hw = [r["hwm"] for r in res.values() if r.get("hwm")]
    goal("worker peak memory (max over phases)", max(hw) / 2**20 if hw else None, "bounded", lambda v: True,
         "{:.0f} MiB")
    lines += ["| Goal | measured | target | |", "|---|---:|---:|---|", *goals, ""]
    if lat:
        lines.append(f"Latency phase: offered {lat['offered']:,} readings/s, stored {lat['rate']:,.0f}/s; "
                     f"{lat['matched']} of {lat['excursions']} excursions raised an alarm NOTIFY seen by LISTEN "
                     f"(p50 {fmt_ms(lat['p50'])}, p99 {fmt_ms(lat['p99'])}, max {fmt_ms(lat['max'])}).")
    for key in ("batched", "batched2", "unbatched", "unbatched2"):
        r = res.get(key)
        if r:
            lines.append(f"- {r['label']}: steady (10–90%) {r['steady']:,.0f} readings/s; publishing took "
                         f"{r['publish_wall']:.1f} s of {r['wall']:.1f} s; {r['batches']:,} transactions "
                         f"(≈ {r['messages'] / max(1, r['batches']):.0f} messages each); messages per worker "
                         f"{r['per_worker']}; alarms {r['alarms']} for {r['excursions']} excursions.")
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    new = recreate_database(args.database_url, keep=args.reuse)
    setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection

    from worksafe.monitoring.models import Gateway

    log(f"migrating {args.database_url}" + ("" if new else " (kept: only what is new)"))
    call_command("migrate", verbosity=0)
    if not Gateway.objects.exists():
        t = time.time()
        build_site(args.gateways, args.points)
        log(f"site: {args.gateways} gateways × {args.points} points in {time.time() - t:.0f} s")
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "worksafe/monitoring"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    meta = {"when": time.strftime("%Y-%m-%d %H:%M"), "git": git + ("+dirty" if dirty else ""), "pg": pg,
            "command": "python bench/telemetry.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "load": " ".join(Path("/proc/loadavg").read_text().split()[:3])}
    with tempfile.TemporaryDirectory(prefix="bench-telemetry-") as tmpdir:
        bench = Bench(args, Path(tmpdir))
        meta["site"] = (f"{len(bench.site)} gateways × {len(bench.site[0][2]) if bench.site else 0} points · "
                        f"worker MQTT client {args.client}"
                        + f" (MQTT {'5' if args.protocol == 5 else '3.1.1'})")
        log(f"worker MQTT client: {args.client}")
        res: dict[str, dict] = {}
        B, U = args.batched_messages, args.unbatched_messages
        try:
            for phase in args.phases:
                if phase == "inproc":
                    res["inproc"] = bench.phase_inproc(100, min(B, 10_000), "in-process pipeline, 100/msg (no MQTT)")
                    res["inproc_unbatched"] = bench.phase_inproc(1, min(U, 50_000),
                                                                 "in-process pipeline, 1/msg (no MQTT)")
                elif phase == "slow":
                    res["slow"] = bench.phase_slow(max(10, min(U, 30_000) // len(bench.site)),
                                                   "slow gateways (1 reading every 5 s each), in-process")
                elif phase == "copy":
                    res["copy"] = bench.phase_copy(100, B, "raw COPY ceiling, 100/row")
                    res["copy_unbatched"] = bench.phase_copy(1, min(U, 100_000), "raw COPY ceiling, 1/row")
                elif phase == "publisher":
                    res["publisher"] = bench.phase_publisher(100, B, "publisher + broker ceiling, 100/msg")
                    res["publisher_unbatched"] = bench.phase_publisher(1, U, "publisher + broker ceiling, 1/msg")
                elif phase == "transport":
                    res["transport"] = bench.phase_transport(100, B, "transport ceiling (subscriber acks, no database), 100/msg")
                    res["transport_unbatched"] = bench.phase_transport(
                        1, U, "transport ceiling (subscriber acks, no database), 1/msg")
                elif phase == "batched":
                    res["batched"] = bench.phase_pipeline(100, B, 1, "end to end, 100/msg, 1 worker")
                elif phase == "batched2":
                    res["batched2"] = bench.phase_pipeline(100, B, 2, "end to end, 100/msg, 2 workers")
                elif phase == "unbatched":
                    res["unbatched"] = bench.phase_pipeline(1, U, 1, "end to end, 1/msg, 1 worker")
                elif phase == "unbatched2":
                    res["unbatched2"] = bench.phase_pipeline(1, U, 2, "end to end, 1/msg, 2 workers")
                elif phase == "latency":
                    res["latency"] = bench.phase_latency(f"latency at {args.latency_rate:,} readings/s offered")
                else:
                    raise SystemExit(f"unknown phase {phase!r} (known: {', '.join(ALL_PHASES)})")
        finally:
            bench.close()
    count, total = readings_stored()
    log(f"table: {count:,} rows, {total:,} readings, {disk_bytes() / 2**20:.0f} MiB")
    text = report(args, res, meta)
    for r in res.values():
        if r.get("profile"):
            text += f"\n### cProfile: {r['label']}\n\n```\n{r['profile']}\n{r['profile_tottime']}```\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
