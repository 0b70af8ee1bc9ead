"""Fault-injection harness (security.md §7): our own PostgreSQL cluster and Mosquitto, the real `worksafe ingest`
as a subprocess, a gateway that records every message the broker acknowledged, and a checker that compares
that history with the database (the Jepsen idea: judge the system by the acknowledged operations).

Faults are injected only into processes started here, by their PID (or with `pg_ctl` on our own data
directory). Everything lives under one temporary directory that is removed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg

from worksafe.monitoring import rules, store

ROOT = Path(__file__).resolve().parents[4]
WORKSAFE = str(Path(sys.executable).with_name("worksafe"))
PG_BIN = Path(shutil.which("initdb") or "/usr/lib/postgresql/15/bin/initdb").resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float, what: str, interval: float = 0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- PostgreSQL -----------------------------------------------------------------------------------------

class Postgres:
    """A throw-away cluster with data checksums, owned by the `postgres` OS user, on a free loopback port.
    `data`: the data directory somewhere else (e.g. on a size-capped volume); `options`: more server settings."""

    def __init__(self, base: Path, data: Path | None = None, options: str = ""):
        self.base = base
        self.data = data or base / "pgdata"
        self.options = options
        self.sock = base / "pgsock"
        self.log = base / "postgres.log"
        self.port = free_port()

    def _as_postgres(self, *cmd, check=True, **kw):
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *map(str, cmd)], check=check, capture_output=True, text=True, **kw)

    def init(self) -> None:
        for d in (self.base, self.sock):
            d.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
            shutil.chown(self.sock, "postgres")
        self._as_postgres(PG_BIN / "initdb", "-D", self.data, "--data-checksums", "-A", "trust", "-U", "postgres",
                          "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")

    def start(self) -> None:
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c shared_buffers=32MB "
                "-c max_connections=40 -c fsync=on -c synchronous_commit=on -c full_page_writes=on")
        if self.options:
            opts += " " + self.options
        r = self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", opts, "-w", "-t", "60",
                              "start", check=False)
        if r.returncode:
            raise AssertionError(f"PostgreSQL did not start: {r.stderr}\n{tail(self.log)}")

    def stop(self, mode: str = "fast") -> None:
        """mode: fast (clean) or immediate (a crash: no checkpoint, WAL recovery at the next start)."""
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def running(self) -> bool:
        return self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "status", check=False).returncode == 0

    def checksums(self) -> str:
        """pg_checksums --check on the stopped cluster: '' when every page verifies, else the report."""
        r = self._as_postgres(PG_BIN / "pg_checksums", "--check", "-D", self.data, check=False)
        return "" if r.returncode == 0 else (r.stdout + r.stderr)

    def url(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def connect(self, db: str = "postgres"):
        return psycopg.connect(self.url(db), autocommit=True)

    def execute(self, sql: str, db: str = "postgres") -> None:
        with self.connect(db) as conn:
            conn.execute(sql)


class Volume:
    """A size-capped tmpfs mounted on `path` (for F9: a PostgreSQL volume that can be filled up), owned by
    `owner`. `mount()` returns '' or why it could not mount; `fill()` takes every free byte with fallocate."""

    def __init__(self, path: Path, size_mb: int, owner: str = "postgres"):
        self.path, self.size_mb, self.owner = path, size_mb, owner
        self.mounted = False
        self.fillers: list[Path] = []

    def mount(self) -> str:
        if os.geteuid() != 0:
            return "mounting a tmpfs needs root"
        import pwd

        try:
            pw = pwd.getpwnam(self.owner)
        except KeyError:
            return f"no `{self.owner}` user"
        self.path.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size_mb}m,mode=0700,uid={pw.pw_uid},"
                            f"gid={pw.pw_gid}", "tmpfs", str(self.path)], capture_output=True, text=True)
        if r.returncode:
            return f"`mount -t tmpfs` failed: {(r.stderr or r.stdout).strip()}"
        self.mounted = True
        return ""

    def free(self) -> int:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self) -> int:
        """Allocate every free byte in filler files (one more each call, so it can top up what PostgreSQL
        freed meanwhile); the bytes taken."""
        taken = 0
        for _ in range(5):
            free = self.free()
            if not free:
                break
            f = self.path / f"filler-{len(self.fillers)}"
            r = subprocess.run(["fallocate", "-l", str(free), str(f)], capture_output=True, text=True)
            if f.exists():
                self.fillers.append(f)
            if r.returncode == 0:
                taken += free
        return taken

    def release(self) -> None:
        """Delete the filler files: the space is free again."""
        for f in self.fillers:
            f.unlink(missing_ok=True)
        self.fillers = []

    def unmount(self) -> None:
        if not self.mounted:
            return
        r = subprocess.run(["umount", str(self.path)], capture_output=True, text=True)
        if r.returncode:  # still busy (a process we failed to stop): detach it now, it goes when they exit
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, text=True)
        self.mounted = False


# --- Mosquitto ------------------------------------------------------------------------------------------

class Broker:
    """Our own Mosquitto 2.0 with persistence (snapshot every `autosave_interval` s) and the queue limits
    docs/telemetry.md asks for, small where a scenario wants to overflow them."""

    def __init__(self, base: Path, *, autosave_interval: int = 1, max_inflight: int = 100, max_queued: int = 10_000):
        self.base = base
        self.port = free_port()
        self.conf = base / "mosquitto.conf"
        self.log = base / "mosquitto.log"
        base.mkdir(parents=True, exist_ok=True)
        os.chmod(base, 0o777)  # Mosquitto started as root drops to the `mosquitto` user
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {base}/\nautosave_interval {autosave_interval}\n"
            f"max_inflight_messages {max_inflight}\nmax_queued_messages {max_queued}\n"
            f"log_dest file {self.log}\nlog_type error\nlog_type warning\nlog_type notice\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_until(lambda: port_open(self.port), 10, f"Mosquitto on port {self.port}")

    def stop(self) -> None:
        """Clean stop (SIGTERM): Mosquitto writes its persistence file before exiting."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(15)

    def kill(self) -> None:
        """kill -9: whatever arrived since the last snapshot is gone."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(15)

    def save(self) -> None:
        """SIGUSR1: write the persistence file now."""
        self.proc.send_signal(signal.SIGUSR1)
        time.sleep(0.3)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


# --- the ingest worker ----------------------------------------------------------------------------------

class Worker:
    """`worksafe ingest` as a subprocess with a fixed client id (a restart resumes its broker session)."""

    def __init__(self, base: Path, env: dict, broker: Broker, client_id: str = "fault-worker", *args: str):
        self.base, self.env, self.broker, self.client_id, self.args = base, env, broker, client_id, args
        self.health = base / f"{client_id}.health.json"
        self.log = base / f"{client_id}.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, fault: str | None = None, wait: bool = True) -> None:
        env = dict(self.env)
        env.pop("WORKSAFE_FAULT", None)
        if fault:
            env["WORKSAFE_FAULT"] = fault
        self.health.unlink(missing_ok=True)
        self.starts += 1
        with open(self.log, "a") as out:
            out.write(f"\n--- start #{self.starts} fault={fault}\n")
            out.flush()
            self.proc = subprocess.Popen(
                [WORKSAFE, "ingest", "--broker", self.broker.address, "--client-id", self.client_id, "--group",
                 "faults", "--health-file", str(self.health), "--max-wait-ms", "10", "--max-backoff", "2",
                 *self.args],
                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        if wait:
            self.wait_healthy()

    def health_data(self) -> dict:
        try:
            return json.loads(self.health.read_text())
        except (OSError, ValueError):
            return {}

    def wait_healthy(self, timeout: float = 60) -> None:
        def ok():
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{tail(self.log)}")
            return self.health_data().get("status") == "ok"
        wait_until(ok, timeout, f"a healthy worker\n{tail(self.log)}")

    def wait_exit(self, timeout: float = 60) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"worker did not exit within {timeout} s:\n{tail(self.log)}") from None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(15)

    def terminate(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.wait_exit(30)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_kb(self) -> int:
        """The worker's resident memory (VmRSS from /proc/<pid>/status), in KiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError(f"no VmRSS for the worker (pid {self.proc.pid})")


# --- the gateway and its history ----------------------------------------------------------------------------

@dataclass
class Site:
    credit_code: str
    gateway: str
    gateway_id: int
    points: dict  # code → {"id", "H", "HH", "deadband", …}


def value(code: str, seq: int) -> float:
    """Deterministic readings with threshold crossings: the same seq always carries the same payload."""
    if code == "LT-1001":  # level, H 15 / HH 18: an excursion every 40 messages, HH inside it
        k = seq % 40
        return 19.0 if k == 12 else 16.0 if 10 <= k < 15 else 5.0 + (seq % 7) * 0.125
    if code == "GT-2001":  # combustible gas, H 25 / HH 50
        return 30.0 if 20 <= seq % 55 < 23 else 2.0 + (seq % 5) * 0.25
    return 40.0 + (seq % 10) * 0.5  # temperature, never near its thresholds


class Gateway:
    """A simulated gateway publishing with QoS 1; `history[seq]` is the payload and its MQTTMessageInfo —
    acknowledged once the broker sent PUBACK. `pad`: bytes of filler in an extra field of every payload
    (ignored by the decoder), to make messages as large as a scenario needs."""

    def __init__(self, broker: Broker, site: Site, base_ms: int | None = None, pad: int = 0):
        import paho.mqtt.client as mqtt

        self.site = site
        self.topic = f"worksafe/v1/{site.credit_code}/{site.gateway}/data"
        self.base_ms = base_ms if base_ms is not None else int(time.time() * 1000) - 600_000
        self.pad = pad
        self.history: dict[int, list] = {}  # seq → [payload, info, …] (every copy sent)
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"fault-gateway-{os.getpid()}-{id(self)}", protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.1, 1)
        self.client.connect_async("127.0.0.1", broker.port, keepalive=10)
        self.client.loop_start()
        self.next_seq = 1
        self.stop_flag = threading.Event()
        self.thread: threading.Thread | None = None

    def payload(self, seq: int, altered: bool = False) -> bytes:
        ts = self.base_ms + seq * 100
        readings = [{"point": code, "ts": ts, "value": value(code, seq) + (1.0 if altered else 0.0)}
                    for code in self.site.points]
        body = {"gateway": self.site.gateway, "seq": seq, "readings": readings}
        if self.pad:
            body["pad"] = "x" * self.pad
        return json.dumps(body).encode()

    def send(self, seq: int, altered: bool = False) -> None:
        body = self.payload(seq, altered)
        info = self.client.publish(self.topic, body, qos=1)
        self.history.setdefault(seq, []).append((body, info, altered))

    def publish(self, n: int) -> None:
        for _ in range(n):
            self.send(self.next_seq)
            self.next_seq += 1

    def start_steady(self, rate: float) -> None:
        """Publish `rate` messages per second in a thread until stop_steady()."""
        self.stop_flag.clear()

        def run():
            interval = 1 / rate
            nxt = time.monotonic()
            while not self.stop_flag.is_set():
                self.publish(1)
                nxt += interval
                time.sleep(max(0.0, nxt - time.monotonic()))
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def stop_steady(self) -> None:
        self.stop_flag.set()
        if self.thread:
            self.thread.join(10)

    def acked(self) -> set[int]:
        """Sequence numbers of which an unaltered copy was acknowledged by the broker."""
        return {seq for seq, copies in self.history.items()
                if any(info.is_published() and not altered for _b, info, altered in copies)}

    def wait_acked(self, seqs=None, timeout: float = 30) -> None:
        want = set(seqs) if seqs is not None else set(self.history)
        wait_until(lambda: want <= self.acked(), timeout, f"PUBACK for {len(want - self.acked())} messages")

    def close(self) -> None:
        self.stop_steady()
        self.client.disconnect()
        self.client.loop_stop()


# --- the checker ----------------------------------------------------------------------------------------------

@dataclass
class Stored:
    batches: dict  # seq → list of (point id, ts, value float32)
    alarms: list  # (point id, condition, raised_ms, late)
    gateway: tuple  # (first_seq, max_seq, received)
    dead: dict = field(default_factory=dict)  # reason → count

    @property
    def missing(self) -> int:
        first, top, received = self.gateway
        return 0 if first is None else top - first + 1 - received


def read_db(conn, site: Site) -> Stored:
    batches: dict[int, list] = {}
    rows = conn.execute("SELECT seq, t0, msgs, data FROM monitoring_readingbatch WHERE gateway_id = %s",
                        [site.gateway_id]).fetchall()
    dupes = []
    for seq0, t0, msgs, data in rows:
        for seq, _digest, rec in store.messages(seq0, int(t0.timestamp() * 1000), msgs, data):
            if seq in batches:
                dupes.append(seq)
            batches[seq] = sorted(zip(rec["point"].tolist(), rec["ts"].tolist(), rec["value"].tolist(), strict=True))
    assert not dupes, f"I2 violated: sequence numbers stored more than once: {dupes[:10]}"
    alarms = conn.execute("SELECT point_id, condition, raised_ms, late FROM monitoring_alarm ORDER BY raised_ms, id"
                          ).fetchall()
    gw = conn.execute("SELECT first_seq, max_seq, received FROM monitoring_gateway WHERE id = %s",
                      [site.gateway_id]).fetchone()
    dead = dict(conn.execute("SELECT reason, count(*) FROM monitoring_deadletter GROUP BY reason").fetchall())
    return Stored(batches, alarms, tuple(gw), dead)


def expected_readings(gateway: Gateway, seq: int) -> list:
    body = json.loads(gateway.payload(seq))
    ids = gateway.site.points
    return sorted((ids[r["point"]]["id"], r["ts"], float(np.float32(r["value"]))) for r in body["readings"])


def expected_alarms(stored: Stored, site: Site) -> list:
    """The oracle: the pure alarm rules over every stored reading of each point in time order."""
    per_point: dict[int, list] = {}
    for readings in stored.batches.values():
        for pid, ts, v in readings:
            per_point.setdefault(pid, []).append((ts, v))
    by_id = {p["id"]: p for p in site.points.values()}
    out = []
    for pid, readings in per_point.items():
        p = by_id[pid]
        th = {"LL": p["LL"], "L": p["L"], "H": p["H"], "HH": p["HH"]}
        state = rules.PointState(0, {})
        for ts, v in sorted(readings):
            for ev in rules.step(state, ts, v, th, p["deadband"], p["min_duration"] * 1000):
                if ev.kind == "raise":
                    out.append((pid, ev.condition, ev.since))
    return sorted(out)


def check(conn, gateway: Gateway, *, lost_ok: bool = False) -> Stored:
    """I1 every acknowledged reading stored, exactly as sent; I2 none twice; I3 one alarm per crossing;
    gaps: the gateway's sequence counters match what is stored, so any loss shows as `missing`.
    `lost_ok`: acknowledged messages may be missing (lost at the broker) but must then be counted as missing."""
    site = gateway.site
    stored = read_db(conn, site)
    acked = gateway.acked()
    lost = sorted(acked - set(stored.batches))
    if not lost_ok:
        assert not lost, f"I1 violated: {len(lost)} acknowledged messages not stored, e.g. {lost[:10]}"
    for seq, readings in stored.batches.items():
        assert readings == expected_readings(gateway, seq), f"stored readings of seq {seq} differ from the original"
    all_readings = [(pid, ts) for rs in stored.batches.values() for pid, ts, _v in rs]
    assert len(all_readings) == len(set(all_readings)), "I2 violated: a reading is stored twice"
    seqs = sorted(stored.batches)
    if seqs:
        assert stored.gateway == (seqs[0], seqs[-1], len(seqs)), (
            f"gateway counters {stored.gateway} do not match the stored messages "
            f"({seqs[0]}, {seqs[-1]}, {len(seqs)})")
        interior_lost = [s for s in lost if seqs[0] < s < seqs[-1]]
        assert stored.missing == seqs[-1] - seqs[0] + 1 - len(seqs) >= len(interior_lost)
        if lost_ok:  # every acknowledged loss lies inside the recorded range: visible as a gap
            assert len(interior_lost) == len(lost), f"a loss at the edge is invisible: {lost[:10]}"
    got = sorted((pid, cond, ms) for pid, cond, ms, _late in stored.alarms)
    want = expected_alarms(stored, site)
    assert got == want, f"I3 violated: alarms {len(got)} vs crossings {len(want)}\nextra: " \
                        f"{sorted(set(got) - set(want))[:10]}\nmissing: {sorted(set(want) - set(got))[:10]}"
    return stored


def wait_drained(conn, gateway: Gateway, timeout: float = 60, seqs=None) -> Stored:
    """Until every acknowledged (or the given) message is stored and the gateway row agrees."""
    want = set(seqs) if seqs is not None else None

    def done():
        s = read_db(conn, gateway.site)
        target = want if want is not None else gateway.acked()
        return s if target <= set(s.batches) else None
    return wait_until(done, timeout, "the worker to store every acknowledged message", interval=0.2)


def amcheck(conn) -> None:
    """I5: every B-tree index of the scenario database verifies."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
    bad = []
    for (oid, name) in conn.execute(
            "SELECT c.oid, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am am ON am.oid = c.relam WHERE am.amname = 'btree' AND c.relkind = 'i' "
            "AND c.relpersistence = 'p' AND i.indisvalid AND i.indisready").fetchall():
        try:
            conn.execute("SELECT bt_index_check(%s::regclass, true)", [oid])
        except psycopg.Error as exc:
            bad.append((name, str(exc)))
    assert not bad, f"I5 violated: {bad[:5]}"


SITE_SCRIPT = """
import json
from worksafe.core.testing import make_enterprise
from worksafe.monitoring.testing import make_gateway, make_point
e = make_enterprise("故障注入测试企业", "350203")
gw = make_gateway(e)
pts = [make_point(e, "LT-1001", gateway=gw),
       make_point(e, "GT-2001", gateway=gw, name="可燃气体", kind="flammable_gas", unit="%LEL", range_low=0,
                  range_high=100, low_low=None, low=None, high=25, high_high=50, deadband=1),
       make_point(e, "TT-3001", gateway=gw, name="温度", kind="temperature", unit="℃", range_low=-20, range_high=200,
                  low_low=None, low=None, high=80, high_high=90, deadband=1)]
print("SITE=" + json.dumps({"credit_code": e.credit_code, "gateway": gw.code, "gateway_id": gw.pk,
      "points": {p.code: {"id": p.pk, "LL": p.low_low, "L": p.low, "H": p.high, "HH": p.high_high,
                          "deadband": p.deadband, "min_duration": p.min_duration} for p in pts}}))
"""


class Cluster:
    """The session's PostgreSQL with a migrated template database holding the site; one copy per scenario.
    `data` and `pg_options` go to Postgres (a scenario's own cluster, e.g. with its data on a small volume)."""

    def __init__(self, base: Path, data: Path | None = None, pg_options: str = ""):
        self.base = base
        self.pg = Postgres(base / "pg", data=data, options=pg_options)
        self.env = {**os.environ, "WORKSAFE_DEV": "True", "WORKSAFE_VAR_DIR": str(base / "var"),
                    "DB_CONN_MAX_AGE": "0", "PYTHONUNBUFFERED": "1"}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.site: Site | None = None
        self.count = 0

    def setup(self) -> None:
        self.pg.init()
        self.pg.start()
        self.pg.execute("CREATE DATABASE faults_template")
        env = {**self.env, "DATABASE_URL": self.pg.url("faults_template")}
        r = subprocess.run([WORKSAFE, "migrate", "--no-input", "-v0"], env=env, cwd=ROOT, capture_output=True,
                           text=True)
        assert r.returncode == 0, f"migrate failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
        r = subprocess.run([WORKSAFE, "shell", "-c", SITE_SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, f"site setup failed:\n{r.stderr[-3000:]}"
        line = next(s for s in r.stdout.splitlines() if s.startswith("SITE="))
        self.site = Site(**json.loads(line[5:]))

    def database(self) -> tuple[str, dict]:
        """A fresh copy of the template: (name, env for subprocesses)."""
        self.count += 1
        name = f"faults_{self.count}"
        self.pg.execute(f"CREATE DATABASE {name} TEMPLATE faults_template")
        return name, {**self.env, "DATABASE_URL": self.pg.url(name)}

    def teardown(self) -> None:
        if self.pg.running():
            self.pg.stop("immediate")


class Scenario:
    """One scenario's database copy, broker, worker and gateway; `close()` stops whatever is still running."""

    def __init__(self, cluster: Cluster, base: Path, *, worker_args: tuple = (), pad: int = 0, **broker_options):
        self.cluster = cluster
        self.base = base
        self.db, self.env = cluster.database()
        self.broker = Broker(base / "broker", **broker_options)
        self.broker.start()
        self.worker = Worker(base, self.env, self.broker, "fault-worker", *worker_args)
        self.gateway = Gateway(self.broker, cluster.site, pad=pad)
        self.conn = None

    def connect(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg.Error:
                pass
        self.conn = wait_until(self._try_connect, 60, "PostgreSQL to accept connections", interval=0.3)
        return self.conn

    def _try_connect(self):
        try:
            return self.cluster.pg.connect(self.db)
        except psycopg.OperationalError:
            return None

    def check(self, **kw) -> Stored:
        return check(self.connect(), self.gateway, **kw)

    def drained(self, timeout: float = 60, seqs=None) -> Stored:
        return wait_drained(self.connect(), self.gateway, timeout, seqs)

    def close(self) -> None:
        self.gateway.close()
        self.worker.kill()
        self.broker.kill()
        if self.conn is not None:
            self.conn.close()


GAP_SCRIPT = """
import datetime, json
from worksafe.monitoring import tick
from worksafe.monitoring.models import QualityEvent
later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=3600)  # past the grace period
tick.detect_sequence_gaps(now=later)
print("GAPS=" + json.dumps([{"open": e.is_open, "count": e.count, "backfilled": e.backfilled, "detail": e.detail}
                            for e in QualityEvent.objects.filter(kind="sequence_gap").order_by("id")]))
"""


def gap_events(env: dict) -> list[dict]:
    """Run the sequence-gap detector of `worksafe tick` on the scenario database; its gap events."""
    r = subprocess.run([WORKSAFE, "shell", "-c", GAP_SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, f"gap detector failed:\n{r.stderr[-3000:]}"
    return json.loads(next(s for s in r.stdout.splitlines() if s.startswith("GAPS="))[5:])
