"""Rollups for long trend charts (1-minute and 1-hour buckets per point) and retention.

1. Raw message rows (`ReadingBatch`) received since the watermark, up to now − MONITORING_ROLLUP_LAG_S
   (a safety lag: an ingest transaction that took `now` before us but commits after us is picked up next
   time), are read in windows of received time, unpacked and aggregated per (point, minute) with numpy.
2. The aggregates are merged into `Rollup` with an additive upsert (n and sum added, min and max widened):
   a reading counts once whenever it arrives, backfill included. The hour buckets get the same merge of
   the minute aggregates, so an hour is exactly the sum of its minutes.
3. The watermark moves in the same transaction as the merge, so a crash repeats nothing.
Bad-quality readings (quality 2) are left out of the rollups; they stay in the raw table.

Retention (at most hourly): raw partitions older than MONITORING_RAW_RETENTION_DAYS are dropped
(store.drop_expired); 1-minute rollups go with them; 1-hour rollups are kept MONITORING_ROLLUP_RETENTION_DAYS.
"""

from __future__ import annotations

import datetime
import logging
import time

import numpy as np
from django.conf import settings
from django.db import connections, transaction

from worksafe.monitoring import codec, store
from worksafe.monitoring.models import ReadingBatch, Rollup, Watermark

log = logging.getLogger(__name__)
UTC = datetime.UTC
MINUTE, HOUR = 60, 3600
WATERMARK = "rollup"
RETENTION_MARK = "retention"
WINDOW = datetime.timedelta(minutes=5)  # received time per transaction: bounds the work lost on a crash
MAX_WINDOW = datetime.timedelta(days=1)
CHUNK_READINGS = 500_000  # aggregate and merge after this many readings (bounded memory within a window)



def run(now: datetime.datetime | None = None, using: str = "default", budget_s: float = 30.0) -> int:
    """Roll up everything received up to now − lag; returns the readings merged. Stops after `budget_s`
    (the rest is taken next time)."""
    now = now or datetime.datetime.now(UTC)
    upto = now - datetime.timedelta(seconds=settings.MONITORING_ROLLUP_LAG_S)
    # Catching up over a quiet stretch (first run, a long stop): widen the window while it finds nothing.
    return sum(in_windows(WATERMARK, upto, merge_window, now, using, budget_s, WINDOW, MAX_WINDOW))


def in_windows(name: str, upto: datetime.datetime, work, now: datetime.datetime, using: str, budget_s: float,
               window: datetime.timedelta, max_window: datetime.timedelta | None = None) -> list:
    """Run `work(after, end, using)` over the rows received from watermark `name` up to `upto`, a window of
    received time per transaction; the watermark moves in the same transaction, so a crash repeats nothing.
    With `max_window`, a window where `work` found nothing (a falsy result) is followed by a 4× wider one.
    Stops after `budget_s`; returns the results of the windows done."""
    started = time.monotonic()
    results = []
    width = window
    while time.monotonic() - started < budget_s:
        with transaction.atomic(using=using):
            mark = watermark(name, using, upto)
            if mark.value >= upto:
                break
            end = min(upto, mark.value + width)
            result = work(mark.value, end, using)
            Watermark.objects.using(using).filter(pk=name).update(value=end, updated_at=now)
        results.append(result)
        if max_window is not None:
            width = window if result else min(width * 4, max_window)
    return results


def watermark(name: str, using: str, upto: datetime.datetime) -> Watermark:
    """The watermark `name`, locked; on the first run it starts just before the oldest stored row (or at
    `upto` when there is none)."""
    mark = Watermark.objects.using(using).select_for_update().filter(pk=name).first()
    if mark is None:
        oldest = ReadingBatch.objects.using(using).order_by("received_at").values_list("received_at", flat=True)[:1]
        start = oldest[0] - datetime.timedelta(microseconds=1) if oldest else upto
        Watermark.objects.using(using).bulk_create([Watermark(name=name, value=start)], ignore_conflicts=True)
        mark = Watermark.objects.using(using).select_for_update().get(pk=name)
    return mark


def merge_window(after: datetime.datetime, upto: datetime.datetime, using: str = "default") -> int:
    """Merge the readings of rows received in (after, upto] into the rollups; returns the readings merged."""
    rows = (ReadingBatch.objects.using(using).filter(received_at__gt=after, received_at__lte=upto, n__gt=0)
            .values_list("t0", "data").iterator(chunk_size=2000))
    parts: list[np.ndarray] = []
    pending = merged = 0
    for t0, data in rows:
        rec = codec.unpack(int(t0.timestamp() * 1000), data)
        parts.append(rec)
        pending += len(rec)
        if pending >= CHUNK_READINGS:
            merged += _merge(np.concatenate(parts), using)
            parts, pending = [], 0
    if parts:
        merged += _merge(np.concatenate(parts), using)
    return merged


def aggregate(rec: np.ndarray, width_s: int) -> tuple[np.ndarray, ...]:
    """(point, bucket epoch s, n, vmin, vmax, vsum) per (point, bucket) of good and uncertain readings."""
    rec = rec[rec["quality"] < 2]
    if not len(rec):
        empty = np.array([], dtype=np.int64)
        return empty, empty, empty, np.array([]), np.array([]), np.array([])
    bucket = (rec["ts"] // (width_s * 1000)) * width_s
    return _group(rec["point"].astype(np.int64), bucket, np.ones(len(rec), dtype=np.int64),
                  rec["value"].astype(np.float64), rec["value"].astype(np.float64), rec["value"].astype(np.float64))


def _group(point, bucket, n, vmin, vmax, vsum) -> tuple[np.ndarray, ...]:
    order = np.lexsort((bucket, point))
    point, bucket, n, vmin, vmax, vsum = (a[order] for a in (point, bucket, n, vmin, vmax, vsum))
    starts = np.flatnonzero(np.r_[True, (np.diff(point) != 0) | (np.diff(bucket) != 0)])
    return (point[starts], bucket[starts], np.add.reduceat(n, starts), np.minimum.reduceat(vmin, starts),
            np.maximum.reduceat(vmax, starts), np.add.reduceat(vsum, starts))


def _merge(rec: np.ndarray, using: str) -> int:
    minute = aggregate(rec, MINUTE)
    if not len(minute[0]):
        return 0
    point, bucket, n, vmin, vmax, vsum = minute
    hour = _group(point, (bucket // HOUR) * HOUR, n, vmin, vmax, vsum)
    upsert(MINUTE, minute, using)
    upsert(HOUR, hour, using)
    return int(n.sum())


_TABLE = Rollup._meta.db_table


def upsert(width: int, groups: tuple[np.ndarray, ...], using: str = "default") -> None:
    """Additive merge of aggregates into the rollup table (n, sum added; min, max widened)."""
    conn = connections[using]
    point, bucket, n, vmin, vmax, vsum = groups
    if conn.vendor == "postgresql":
        sql = (f"INSERT INTO {_TABLE} (point_id, width, bucket, n, vmin, vmax, vsum) "
               "SELECT p, %s, to_timestamp(b), c, lo, hi, s FROM unnest(%s::int[], %s::bigint[], %s::int[], "
               "%s::float8[], %s::float8[], %s::float8[]) AS u(p, b, c, lo, hi, s) "
               "ON CONFLICT (point_id, width, bucket) DO UPDATE SET n = r.n + EXCLUDED.n, "
               "vmin = LEAST(r.vmin, EXCLUDED.vmin), vmax = GREATEST(r.vmax, EXCLUDED.vmax), "
               "vsum = r.vsum + EXCLUDED.vsum")
        sql = sql.replace(f"INSERT INTO {_TABLE} ", f"INSERT INTO {_TABLE} AS r ")
        with conn.cursor() as cur:
            cur.execute(sql, [width, point.tolist(), bucket.tolist(), n.tolist(), vmin.tolist(), vmax.tolist(),
                              vsum.tolist()])
        return
    ops = conn.ops
    rows = [(int(p), width, ops.adapt_datetimefield_value(codec.ms_to_datetime(int(b) * 1000)), int(c), float(lo),
             float(hi), float(s)) for p, b, c, lo, hi, s in zip(*groups, strict=True)]
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {_TABLE} (point_id, width, bucket, n, vmin, vmax, vsum) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            f"ON CONFLICT (point_id, width, bucket) DO UPDATE SET n = {_TABLE}.n + excluded.n, "
            f"vmin = MIN({_TABLE}.vmin, excluded.vmin), vmax = MAX({_TABLE}.vmax, excluded.vmax), "
            f"vsum = {_TABLE}.vsum + excluded.vsum", rows)


# --- retention ------------------------------------------------------------------------------------------

def retention(now: datetime.datetime | None = None, using: str = "default", every: datetime.timedelta | None = None
              ) -> dict[str, int] | None:
    """Drop expired raw readings and rollups; at most once per `every` (default one hour). None when skipped."""
    now = now or datetime.datetime.now(UTC)
    every = every if every is not None else datetime.timedelta(hours=1)
    with transaction.atomic(using=using):
        mark = Watermark.objects.using(using).select_for_update().filter(pk=RETENTION_MARK).first()
        if mark is not None and now - mark.value < every:
            return None
        Watermark.objects.using(using).update_or_create(name=RETENTION_MARK, defaults={"value": now, "updated_at": now})
    raw_days = settings.MONITORING_RAW_RETENTION_DAYS
    dropped = store.drop_expired(raw_days, today=now.date(), using=using)
    raw_cut = datetime.datetime.combine(now.date() - datetime.timedelta(days=raw_days), datetime.time(), UTC)
    hour_cut = now - datetime.timedelta(days=settings.MONITORING_ROLLUP_RETENTION_DAYS)
    minutes, _ = Rollup.objects.using(using).filter(width=MINUTE, bucket__lt=raw_cut).delete()
    hours, _ = Rollup.objects.using(using).filter(width=HOUR, bucket__lt=hour_cut).delete()
    return {"raw": dropped, "minute_rollups": minutes, "hour_rollups": hours}
