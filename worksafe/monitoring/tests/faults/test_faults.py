"""Fault-injection scenarios (security.md §7) against our own PostgreSQL and Mosquitto.

After every scenario the checker compares the gateway's history with the database: every message the broker
acknowledged is stored, exactly as sent (I1); nothing twice (I2); one alarm per threshold crossing (I3);
the gateway's sequence counters agree with what is stored, so a loss outside our control shows as a gap.
Quick scenarios (F1, F2, F4 short, F11) run with the ordinary suite; the `faults`-marked ones with `make faults`:
F1 repeated random kills, F2 repeated, F4 with a 10 s outage, F5, F6, F6b, F7, F8, F9 disk full on the PostgreSQL
volume (its own cluster on a size-capped tmpfs), F12 a long lock on the readings table (back-pressure).
"""

import random
import subprocess
import time

import psycopg
import pytest

from worksafe.monitoring.tests.faults.harness import ROOT, WORKSAFE, amcheck, gap_events, wait_until

RATE = 150  # messages per second from the simulated gateway (3 readings each)


def settle(s, seconds: float) -> None:
    """Keep publishing for `seconds`, then stop and wait for every PUBACK."""
    time.sleep(seconds)
    s.gateway.stop_steady()
    s.gateway.wait_acked()


def recovers_intact(s) -> None:
    """After a database fault: the worker is healthy again, the backlog drains, I1–I3 hold, indexes pass amcheck
    and, with the worker and PostgreSQL stopped cleanly, every data page's checksum verifies (I5)."""
    s.worker.wait_healthy(60)
    settle(s, 0.5)
    s.drained(timeout=90)
    assert s.check().missing == 0
    amcheck(s.connect())
    s.worker.terminate()
    s.connect().close()
    s.conn = None
    s.cluster.pg.stop("fast")
    report = s.cluster.pg.checksums()
    assert report == "", f"I5 violated: data checksums\n{report}"


def backfill(s) -> list[int]:
    """What a gateway does when the platform reports a sequence gap: send the missing messages again."""
    stored = s.check(lost_ok=True)
    seqs = sorted(stored.batches)
    missing = sorted(set(range(seqs[0], seqs[-1] + 1)) - set(stored.batches))
    for seq in missing:
        s.gateway.send(seq)
    s.gateway.wait_acked(missing)
    s.drained(seqs=set(stored.batches) | set(missing))
    return missing


# --- quick: with the ordinary suite ------------------------------------------------------------------------

def test_f1_worker_killed_inside_its_transaction_loses_nothing(scenario):
    s = scenario
    s.worker.start(fault="crash_before_commit:3")
    s.gateway.start_steady(RATE)
    assert s.worker.wait_exit(30) == -9  # SIGKILL inside batch 3's transaction, before COMMIT
    time.sleep(0.5)
    s.worker.start()  # same client id: the broker redelivers what was never acknowledged
    settle(s, 1.5)
    s.drained()
    stored = s.check()
    assert len(stored.batches) == len(s.gateway.acked()) > 100
    assert stored.missing == 0


def test_f2_worker_killed_after_commit_before_ack_duplicates_are_absorbed(scenario):
    s = scenario
    s.worker.start(fault="crash_after_commit:3")
    s.gateway.start_steady(RATE)
    assert s.worker.wait_exit(30) == -9  # committed batch 3, died before PUBACK
    s.worker.start()
    settle(s, 1.5)
    s.drained()
    stored = s.check()
    assert stored.missing == 0
    # The committed-but-unacknowledged messages came again and were recognised as duplicates.
    wait_until(lambda: s.worker.health_data().get("stats", {}).get("duplicates", 0) >= 1, 10,
               "the redelivered duplicates")


def test_f4_postgresql_crash_and_restart(scenario):
    s = scenario
    s.worker.start()
    s.gateway.start_steady(RATE)
    time.sleep(1)
    s.cluster.pg.stop("immediate")  # a crash: no checkpoint, WAL recovery at restart
    wait_until(lambda: s.worker.health_data().get("database") == "error", 15, "the worker to report unhealthy")
    acked_during = len(s.gateway.acked())
    time.sleep(2)
    assert len(s.gateway.acked()) > acked_during  # the broker keeps accepting; the worker holds back its acks
    s.cluster.pg.start()
    s.worker.wait_healthy(60)
    settle(s, 0.5)
    s.drained()
    stored = s.check()
    assert stored.missing == 0
    amcheck(s.connect())


@pytest.mark.parametrize("seed", [11, 12])
def test_f11_duplicate_reorder_and_altered_resend_storm(scenario_factory, seed):
    s = scenario_factory(worker_args=("--max-batch", "4"))  # small batches: reordering crosses batch boundaries
    rng = random.Random(seed)
    s.worker.start()
    n = 240
    order = list(range(1, n + 1))
    for i in range(0, n, 16):  # reorder within windows, as a gateway outbox flushing after a reconnect does
        window = order[i:i + 16]
        rng.shuffle(window)
        order[i:i + 16] = window
    stream = []
    for seq in order:
        stream.append(seq)
        if rng.random() < 0.15:
            stream.insert(rng.randrange(max(0, len(stream) - 30), len(stream) + 1), seq)  # a duplicate nearby
    for seq in stream:
        s.gateway.send(seq)
    s.gateway.wait_acked()
    s.drained()
    stored = s.check()
    assert stored.missing == 0 and len(stored.batches) == n
    altered = rng.sample(range(1, n + 1), 12)
    for seq in altered:  # the same sequence number with other content: refused, recorded, original kept
        s.gateway.send(seq, altered=True)
    wait_until(lambda: s.check().dead.get("altered_resend", 0) == len(altered), 30, "the altered re-sends")
    s.check()  # the stored readings are still the originals
    # Last values follow the reading time, not the arrival order.
    newest = {}
    for readings in stored.batches.values():
        for pid, ts, v in readings:
            if pid not in newest or newest[pid][0] < ts:
                newest[pid] = (ts, v)

    def last_values():
        rows = s.connect().execute("SELECT id, last_value, (extract(epoch from last_ts) * 1000)::bigint "
                                   "FROM monitoring_point").fetchall()
        return {pid: (ts, v) for pid, v, ts in rows if ts is not None}
    wait_until(lambda: last_values() == newest, 15, "last values of the newest readings")


# --- slow: make faults ------------------------------------------------------------------------------------------

@pytest.mark.faults
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_f1_random_kills_during_steady_ingest(scenario, seed):
    s = scenario
    rng = random.Random(seed)
    s.worker.start()
    s.gateway.start_steady(RATE)
    for _ in range(4):
        time.sleep(rng.uniform(0.2, 2.0))
        s.worker.kill()
        time.sleep(rng.uniform(0, 1.0))
        s.worker.start()
    settle(s, 1.0)
    s.drained()
    assert s.check().missing == 0


@pytest.mark.faults
def test_f2_repeated_crash_after_commit(scenario):
    s = scenario
    for n in (1, 5, 2):
        s.worker.start(fault=f"crash_after_commit:{n}")
        if n == 1:
            s.gateway.start_steady(RATE)  # once the worker's session is subscribed
        assert s.worker.wait_exit(30) == -9
    s.worker.start()
    settle(s, 1.0)
    s.drained()
    assert s.check().missing == 0


@pytest.mark.faults
def test_f4_postgresql_down_for_ten_seconds(scenario):
    s = scenario
    s.worker.start()
    s.gateway.start_steady(RATE)
    time.sleep(1)
    s.cluster.pg.stop("immediate")
    wait_until(lambda: s.worker.health_data().get("status") == "unhealthy", 15, "the worker to report unhealthy")
    time.sleep(10)
    assert s.worker.alive()
    s.cluster.pg.start()
    recovers_intact(s)
    s.cluster.pg.start()


@pytest.mark.faults
def test_f5_postgresql_clean_restart(scenario):
    s = scenario
    s.worker.start()
    s.gateway.start_steady(RATE)
    time.sleep(1)
    s.cluster.pg.stop("fast")
    time.sleep(2)
    s.cluster.pg.start()
    s.worker.wait_healthy(60)
    settle(s, 0.5)
    s.drained()
    assert s.check().missing == 0
    amcheck(s.connect())


@pytest.mark.faults
def test_f6_broker_clean_restart_keeps_queued_messages(scenario):
    s = scenario
    s.worker.start()
    s.gateway.publish(30)
    s.drained()
    s.worker.terminate()  # away: the broker queues for its persistent session
    s.gateway.publish(200)
    s.gateway.wait_acked()
    s.broker.stop()  # SIGTERM: Mosquitto saves sessions and queued messages
    s.broker.start()
    s.worker.start()  # resumes its session (and subscribes again, see below)
    wait_until(s.gateway.client.is_connected, 15, "the gateway to reconnect")
    s.gateway.publish(30)
    s.gateway.wait_acked()
    s.drained()
    assert s.check().missing == 0


@pytest.mark.faults
def test_f6b_shared_subscription_is_not_restored_by_the_broker_loss_is_a_visible_gap(scenario):
    """Mosquitto 2.0.11 restores a session's queued messages after a restart, but not its shared subscriptions:
    until the worker subscribes again, nobody in the group receives (docs/telemetry.md)."""
    s = scenario
    s.worker.start()
    s.gateway.publish(30)
    s.drained()
    s.worker.terminate()
    s.broker.stop()
    s.broker.start()
    wait_until(s.gateway.client.is_connected, 15, "the gateway to reconnect")
    s.gateway.publish(40)  # acknowledged by the broker, delivered to no one
    s.gateway.wait_acked()
    s.worker.start()
    s.gateway.publish(30)
    s.gateway.wait_acked()
    s.drained(seqs=set(range(1, 31)) | set(range(71, 101)))
    assert s.check(lost_ok=True).missing == 40
    [gap] = gap_events(s.env)
    assert gap["open"] and gap["detail"]["ranges"] == [[31, 70]]
    assert backfill(s) == list(range(31, 71))
    assert s.check().missing == 0


@pytest.mark.faults
def test_f7_broker_kill_loses_unsaved_messages_visibly_then_backfill(scenario_factory):
    s = scenario_factory(autosave_interval=3600)  # no snapshot unless we ask for one
    s.worker.start()
    s.gateway.publish(50)
    s.drained()
    s.broker.save()  # the snapshot holds the worker's session, not what comes next
    s.worker.terminate()
    s.gateway.publish(100)
    s.gateway.wait_acked()  # acknowledged by the broker, held only in its memory
    s.broker.kill()
    s.broker.start()
    s.worker.start()
    wait_until(s.gateway.client.is_connected, 15, "the gateway to reconnect")
    s.gateway.publish(50)
    s.gateway.wait_acked()
    s.drained(seqs=set(range(1, 51)) | set(range(151, 201)))
    stored = s.check(lost_ok=True)
    assert stored.missing == 100  # the loss is recorded as a sequence gap, never silent
    [gap] = gap_events(s.env)
    assert gap["open"] and gap["count"] == 100 and gap["detail"]["ranges"] == [[51, 150]]
    assert len(backfill(s)) == 100
    assert s.check().missing == 0
    [gap] = gap_events(s.env)
    assert not gap["open"] and gap["backfilled"] == 100


@pytest.mark.faults
def test_f8_worker_away_longer_than_the_broker_queue(scenario_factory):
    s = scenario_factory(max_queued=50, max_inflight=20)
    s.worker.start()
    s.gateway.publish(20)
    s.drained()
    s.worker.terminate()
    s.gateway.publish(300)  # more than the session's queue holds: Mosquitto drops the overflow
    s.gateway.wait_acked()
    s.worker.start()
    after = set(range(s.gateway.next_seq, s.gateway.next_seq + 20))
    s.gateway.publish(20)
    s.gateway.wait_acked()
    s.drained(seqs=after)
    time.sleep(1)
    stored = s.check(lost_ok=True)
    lost = s.gateway.acked() - set(stored.batches)
    assert lost and stored.missing == len(lost)
    [gap] = gap_events(s.env)
    assert gap["open"] and gap["count"] == len(lost)
    assert {seq for a, b in gap["detail"]["ranges"] for seq in range(a, b + 1)} == lost
    assert sorted(backfill(s)) == sorted(lost)
    assert s.check().missing == 0
    [gap] = gap_events(s.env)
    assert not gap["open"]


@pytest.mark.faults
def test_f9_disk_full_on_the_postgresql_volume(disk_full_scenario):
    """The scenario's own cluster has its data directory (WAL included) on a 128 MB tmpfs, filled up with
    fallocate while the gateway publishes. PostgreSQL refuses to extend the readings table (DiskFull); if it
    PANICs on WAL instead, it is started again once the space is free."""
    s, volume = disk_full_scenario
    s.worker.start()
    s.gateway.start_steady(RATE)
    time.sleep(1)
    assert volume.fill() > 0 and volume.free() == 0

    def disk_full_reported():
        volume.fill()  # top up whatever PostgreSQL freed meanwhile (a removed WAL segment, say)
        h = s.worker.health_data()
        return h if h.get("status") == "unhealthy" and "No space left on device" in h.get("error", "") else None
    before = wait_until(disk_full_reported, 20, "the worker to report the full disk")
    broker_before = len(s.gateway.acked())
    for _ in range(8):  # 4 s with a full disk
        time.sleep(0.5)
        volume.fill()
    after = s.worker.health_data()
    assert s.worker.alive()
    assert after["status"] == "unhealthy" and after["database"] == "error"
    assert after["stats"]["messages"] == before["stats"]["messages"]  # nothing acknowledged while full …
    assert after["stats"]["db_errors"] > before["stats"]["db_errors"]  # … the same batch retried, not dropped
    assert len(s.gateway.acked()) > broker_before + 2 * RATE  # the broker keeps accepting: the backlog waits there
    # The storage alarm that does not need the database: the worker's log and its health probe.
    assert "No space left on device" in s.worker.log.read_text()
    r = subprocess.run([WORKSAFE, "ingest", "--check", "--health-file", str(s.worker.health)], env=s.env, cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 1 and "No space left on device" in r.stdout, r.stdout + r.stderr

    volume.release()
    if not s.cluster.pg.running():  # it PANICked on WAL and could not come back without space
        s.cluster.pg.start()
    recovers_intact(s)


@pytest.mark.faults
def test_f12_slow_database_a_long_lock_on_the_readings_table(scenario_factory):
    """Another session holds an ACCESS EXCLUSIVE lock on monitoring_readingbatch (the partitioned table the
    worker COPYs into; LOCK TABLE takes its partitions too) for 8 s while the gateway keeps publishing."""
    # Large messages (16 KB of filler each) and a small in-memory window (--queue-size 100, which is also the
    # MQTT 5 Receive Maximum) make back-pressure measurable: the 8 s of messages (~1200, ~19 MB) must wait at
    # the broker, not in the worker.
    s = scenario_factory(worker_args=("--queue-size", "100"), pad=16_000)
    s.worker.start()
    s.gateway.start_steady(RATE)
    time.sleep(2)  # warm up: the worker's memory reaches its steady state
    db = s.connect()
    gateway_id = s.cluster.site.gateway_id

    def committed() -> int:  # the gateway row is written by every committed batch, and is not locked by us
        return db.execute("SELECT received FROM monitoring_gateway WHERE id = %s", [gateway_id]).fetchone()[0]

    rss_before = s.worker.rss_kb()
    lock = psycopg.connect(s.cluster.pg.url(s.db))
    try:
        lock.execute("LOCK TABLE monitoring_readingbatch IN ACCESS EXCLUSIVE MODE")
        locked_at = time.monotonic()
        wait_until(lambda: db.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
                                      "'monitoring_readingbatch'::regclass").fetchone()[0], 5,
                   "the worker's write to wait for the lock")
        time.sleep(1.5)  # a batch committed just before the lock is acknowledged, and the health file (rewritten
        # every second) shows it
        stats_before, committed_before = s.worker.health_data()["stats"], committed()
        broker_before = s.gateway.acked()
        time.sleep(8 - (time.monotonic() - locked_at))
        rss_after = s.worker.rss_kb()
        backlog = len(s.gateway.acked() - broker_before)
        assert s.worker.alive()
        # Nothing committed, so nothing acknowledged by the worker during the lock.
        assert committed() == committed_before
        stats = s.worker.health_data()["stats"]
        assert (stats["messages"], stats["batches"]) == (stats_before["messages"], stats_before["batches"])
        # The broker kept accepting the gateway's messages (> 840 of them: > 13 MB) …
        assert backlog > 0.8 * RATE * 7, backlog
        # … and the worker did not take them in: it holds at most its window of 100 messages (~1.6 MB) plus
        # one socket read (≤ 1 MB); measured ~1.4 MB of growth. 8 MB leaves room for allocator noise and is
        # well below the backlog (with the default window of 2000 the worker takes all of it: ~20 MB growth).
        assert rss_after - rss_before < 8 * 1024, f"worker RSS grew from {rss_before} to {rss_after} KiB"
    finally:
        lock.close()  # rolls back: the lock is released
    s.worker.wait_healthy(30)
    settle(s, 0.5)
    s.drained()
    assert s.check().missing == 0
    amcheck(s.connect())
