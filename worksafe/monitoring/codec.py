"""The gateway payload (docs/telemetry.md) and the packed record format of stored readings.

Payload (JSON, UTF-8):
    {"gateway": "GW01", "seq": 1042,
     "readings": [{"point": "LT-1001", "ts": "2026-11-29T08:00:00.250+08:00", "value": 3.42, "quality": 0}, …]}
`ts` is RFC 3339 with an offset, or epoch milliseconds (an integer). `quality` 0 good, 1 uncertain, 2 bad
(default 0). `seq` rises by one per message from each gateway and is never reused, across restarts too.

Stored: one row per message; its readings packed as RECORD (13 bytes: point id, ms after t0, value as
float32, quality).
"""

from __future__ import annotations

import datetime
import hashlib
import math
from dataclasses import dataclass
from typing import Annotated

import msgspec
import numpy as np

RECORD = np.dtype([("point", "<i4"), ("dt", "<i4"), ("value", "<f4"), ("quality", "u1")])
MAX_READINGS = 10_000
MAX_SPAN_MS = 2**31 - 1  # a message's readings must lie within ~24.8 days of each other
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MS = datetime.timedelta(milliseconds=1)


# gc=False: these structs hold no reference cycles, and not tracking a hundred of them per message keeps
# the garbage collector out of the hot path (decoding is ~15% faster).
class Reading(msgspec.Struct, forbid_unknown_fields=False, gc=False):
    point: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    ts: int | Annotated[str, msgspec.Meta(max_length=40)]
    value: float
    quality: Annotated[int, msgspec.Meta(ge=0, le=2)] = 0


class Payload(msgspec.Struct, forbid_unknown_fields=False, gc=False):
    gateway: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    seq: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    readings: Annotated[list[Reading], msgspec.Meta(max_length=MAX_READINGS)]


class Envelope(msgspec.Struct, forbid_unknown_fields=False):
    """Just enough to place a payload whose readings do not all validate."""

    gateway: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    seq: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    readings: Annotated[list, msgspec.Meta(max_length=MAX_READINGS)]


_payload = msgspec.json.Decoder(Payload)
_envelope = msgspec.json.Decoder(Envelope)


class PayloadError(ValueError):
    """The message as a whole cannot be used (not JSON, no gateway/seq …); `reason` is machine-readable."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Decoded:
    gateway: str
    seq: int
    points: list[str]
    ts: list[int]  # epoch ms
    values: list[float]
    quality: list[int]
    bad: list[tuple[int, str, str]]  # (index in the message, reason, detail)


def parse_ts(text: str) -> int:
    """RFC 3339 text with an offset → epoch ms. ValueError for anything else (a naive time is ambiguous)."""
    dt = datetime.datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError("timestamp without a UTC offset")
    return (dt - EPOCH) // _MS


def _times(rs: list[Reading]) -> list[int]:
    # Gateways stamp a whole scan with one time: convert each distinct text once.
    cache: dict[str, int] = {}
    out = []
    for r in rs:
        t = r.ts
        if type(t) is not int:
            v = cache.get(t)
            if v is None:
                v = cache[t] = parse_ts(t)
            t = v
        out.append(t)
    return out


def _fast_times(rs: list[Reading]) -> list[int]:
    ts = [r.ts for r in rs]
    if ts and type(ts[0]) is int:
        try:
            min(ts)  # a list that starts with an int compares clean only if every item is an int
            return ts
        except TypeError:
            pass
    return _times(rs)


def decode(payload: bytes) -> Decoded:
    """Parse and validate a message. A bad reading is reported in `bad`; the good ones are kept."""
    try:
        p = _payload.decode(payload)
        rs = p.readings
        return Decoded(p.gateway, p.seq, [r.point for r in rs], _fast_times(rs), [r.value for r in rs],
                       [r.quality for r in rs], [])
    except msgspec.ValidationError:
        pass  # some part is wrong: sort the good readings from the bad below
    except msgspec.DecodeError as exc:
        raise PayloadError("invalid_json", str(exc)) from None
    except ValueError:
        pass  # a timestamp text that is not RFC 3339 with an offset
    try:
        env = _envelope.decode(payload)
    except msgspec.ValidationError as exc:
        raise PayloadError("invalid_envelope", str(exc)) from None
    out = Decoded(env.gateway, env.seq, [], [], [], [], [])
    for i, raw in enumerate(env.readings):
        try:
            r = msgspec.convert(raw, Reading)
            ts = r.ts if type(r.ts) is int else parse_ts(r.ts)
            if not math.isfinite(r.value):
                raise ValueError("value is not a finite number")
        except (msgspec.ValidationError, ValueError) as exc:
            out.bad.append((i, "invalid_reading", str(exc)))
            continue
        out.points.append(r.point)
        out.ts.append(ts)
        out.values.append(r.value)
        out.quality.append(r.quality)
    return out


def digest(payload: bytes) -> int:
    """A signed 64-bit fingerprint of the payload (the first 8 bytes of its SHA-1), to tell a redelivered
    message from an altered re-send under the same sequence number. Not a security boundary: the gateway
    sends both. SHA-1 rather than BLAKE2b because CPUs hash it in hardware (SHA-NI): 5 µs instead of 13 µs
    for a 100-reading message."""
    return int.from_bytes(hashlib.sha1(payload).digest()[:8], "little", signed=True)


def pack(point_ids: np.ndarray, ts: np.ndarray, values: np.ndarray, quality: np.ndarray) -> tuple[int, bytes]:
    """(t0, bytes) for readings of one message; t0 is the earliest ts (epoch ms)."""
    t0 = int(ts.min())
    rec = np.empty(len(ts), dtype=RECORD)
    rec["point"] = point_ids
    rec["dt"] = ts - t0
    rec["value"] = values
    rec["quality"] = quality
    return t0, rec.tobytes()


def pack_batch(point_ids: np.ndarray, ts: np.ndarray, t0: np.ndarray, values: np.ndarray,
               quality: np.ndarray) -> np.ndarray:
    """The readings of many messages at once as RECORDs; `t0` is each reading's message t0 (epoch ms).
    Message i's stored bytes are `out[start_i:end_i].tobytes()`, the same as pack() of its readings."""
    rec = np.empty(len(ts), dtype=RECORD)
    rec["point"] = point_ids
    rec["dt"] = ts - t0
    rec["value"] = values
    rec["quality"] = quality
    return rec


_days: dict[int, datetime.date] = {}


def utc_day(ms: int) -> datetime.date:
    """The UTC date of an epoch-ms time (cached per day)."""
    n = ms // 86_400_000
    day = _days.get(n)
    if day is None:
        day = _days[n] = (EPOCH + datetime.timedelta(days=n)).date()
    return day


def unpack(t0: int, data: bytes) -> np.ndarray:
    """Structured array with fields point, ts (epoch ms, int64), value, quality."""
    rec = np.frombuffer(bytes(data), dtype=RECORD)
    out = np.empty(len(rec), dtype=[("point", "<i4"), ("ts", "<i8"), ("value", "<f4"), ("quality", "u1")])
    out["point"] = rec["point"]
    out["ts"] = rec["dt"].astype(np.int64) + t0
    out["value"] = rec["value"]
    out["quality"] = rec["quality"]
    return out


def ms_to_datetime(ms: int) -> datetime.datetime:
    return EPOCH + datetime.timedelta(milliseconds=int(ms))


def aware(value: datetime.datetime | str) -> datetime.datetime:
    """A timestamp read with raw SQL as an aware datetime (SQLite returns the stored text, naive = UTC)."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


def datetime_to_ms(value: datetime.datetime | str) -> int:
    """Epoch ms of a timestamp (the inverse of ms_to_datetime; raw SQLite text too)."""
    return (aware(value) - EPOCH) // _MS
