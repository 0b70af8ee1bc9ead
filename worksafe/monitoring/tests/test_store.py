"""Storage rules: sequence bookkeeping (what counts as new), row coalescing and its limits, the row format."""

import numpy as np
import pytest

from worksafe.monitoring import codec, store
from worksafe.monitoring.store import SeqState, track_sequence

# --- sequence bookkeeping --------------------------------------------------------------------------------------

def test_first_message_opens_no_hole():
    st = track_sequence(SeqState(None, None, []), [5], now_s=100)
    assert (st.first, st.top, st.holes) == (5, 5, [])


def test_next_number_is_no_hole_one_more_is():
    st = SeqState(1, 5, [])
    assert track_sequence(st, [6], 100).holes == []
    assert track_sequence(st, [7], 100).holes == [[6, 6, 100]]
    assert track_sequence(st, [9], 100).holes == [[6, 8, 100]]


def test_numbers_below_the_first_open_a_hole_below():
    st = SeqState(10, 12, [])
    assert track_sequence(st, [9], 100) == SeqState(9, 12, [])
    assert track_sequence(st, [7], 100) == SeqState(7, 12, [[8, 9, 100]])


def test_filling_a_hole_at_its_edges_and_inside():
    st = SeqState(1, 20, [[5, 9, 50]])
    assert track_sequence(st, [5], 100).holes == [[6, 9, 50]]
    assert track_sequence(st, [9], 100).holes == [[5, 8, 50]]
    assert track_sequence(st, [7], 100).holes == [[5, 6, 50], [8, 9, 50]]  # split, keeps when it was noticed
    assert track_sequence(st, [5, 6, 7, 8, 9], 100).holes == []
    assert track_sequence(st, [9, 5, 7], 100).holes == [[6, 6, 50], [8, 8, 50]]  # order does not matter


def test_new_numbers_above_and_in_holes_together():
    st = SeqState(1, 10, [[3, 4, 50]])
    out = track_sequence(st, [4, 12, 15], 100)
    assert out == SeqState(1, 15, [[3, 3, 50], [11, 11, 100], [13, 14, 100]])


def test_holes_are_capped_oldest_first():
    st = SeqState(0, 0, [])
    st = track_sequence(st, [2, 4, 6, 8], 100, max_holes=3)
    assert st.holes == [[3, 3, 100], [5, 5, 100], [7, 7, 100]]


@pytest.mark.parametrize(("seq", "new"), [(0, True), (1, False), (4, True), (5, True), (6, True), (7, False),
                                          (10, False), (11, True)])
def test_is_new_at_every_boundary(seq, new):
    st = SeqState(1, 10, [[4, 6, 0]])
    assert st.is_new(seq) is new


def test_nothing_stored_yet_is_new():
    assert SeqState(None, None, []).is_new(123) is True


def test_missing_counts_the_holes():
    assert store.missing([[3, 3, 0], [10, 14, 0]]) == 6 and store.missing([]) == 0


# --- coalescing ----------------------------------------------------------------------------------------------------

T = 1_790_000_000_000  # epoch ms, 2026-09-21


def packed(point, ts_list, values):
    ids = np.full(len(ts_list), point, dtype=np.int32)
    return codec.pack(ids, np.array(ts_list, dtype=np.int64), np.array(values, dtype=np.float64),
                      np.zeros(len(ts_list), dtype=np.uint8))


def messages(*specs):
    """specs: (gateway, seq, [(ts, value), …]) → entries and records."""
    out = []
    for gw, seq, readings in specs:
        t0, data = packed(7, [t for t, _v in readings], [v for _t, v in readings]) if readings else (T + 300, b"")
        out.append((gw, seq, t0, data))
    return store.entries_from(out)


def round_trip(rows):
    got = []
    for r in rows:
        for seq, digest, rec in store.messages(r.seq, r.t0_ms, r.msgs, r.data):
            got.append((r.gateway_id, seq, digest, rec["ts"].tolist(), rec["value"].tolist()))
    return sorted(got)


def test_small_messages_of_a_gateway_share_a_row_and_come_back_whole():
    entries, rec = messages((1, 10, [(T + 500, 1.5)]), (2, 3, [(T, 9.0)]), (1, 12, [(T + 100, 2.5), (T + 900, 3.5)]),
                            (1, 11, []))
    rows = store.coalesce(entries, rec)
    assert sorted((r.gateway_id, r.seq, r.n, len(r.msgs) // store.MSG.itemsize) for r in rows) == [(1, 10, 3, 3),
                                                                                                   (2, 3, 1, 1)]
    row = next(r for r in rows if r.gateway_id == 1)
    assert row.t0_ms == T + 100  # the earliest message t0; every record is relative to it
    assert round_trip(rows) == sorted([
        (1, 10, entries[0].digest, [T + 500], [1.5]), (2, 3, entries[1].digest, [T], [9.0]),
        (1, 12, entries[2].digest, [T + 100, T + 900], [2.5, 3.5]), (1, 11, entries[3].digest, [], [])])


def test_a_row_spans_at_most_a_minute_of_message_starts():
    entries, rec = messages((1, 1, [(T, 1.0)]), (1, 2, [(T + store.SPAN_MS, 2.0)]),
                            (1, 3, [(T + store.SPAN_MS + 1, 3.0)]))
    rows = store.coalesce(entries, rec)
    assert [(r.seq, r.n) for r in rows] == [(1, 2), (3, 1)]
    assert round_trip(rows)[2][3] == [T + store.SPAN_MS + 1]


def test_a_message_reaching_past_the_span_keeps_a_row_of_its_own():
    entries, rec = messages((1, 1, [(T, 1.0)]), (1, 2, [(T + 10, 2.0), (T + store.SPAN_MS + 11, 2.5)]),
                            (1, 3, [(T + 20, 3.0)]))
    rows = store.coalesce(entries, rec)
    assert sorted((r.seq, r.n) for r in rows) == [(1, 2), (2, 2)]


def test_rows_stay_below_the_toast_threshold():
    per = (store.ROW_BYTES // (store.MSG.itemsize + codec.RECORD.itemsize))
    entries, rec = messages(*[(1, s, [(T + s, float(s))]) for s in range(per + 1)])
    rows = store.coalesce(entries, rec)
    assert [r.n for r in rows] == [per, 1]
    assert all(len(r.msgs) + len(r.data) <= store.ROW_BYTES for r in rows)
    big, rec = messages((1, 1, [(T + k, 1.0) for k in range(100)]), (1, 2, [(T + k, 2.0) for k in range(100)]))
    assert [r.n for r in store.coalesce(big, rec)] == [100, 100]  # a 100-reading scan is a row of its own


def test_messages_of_two_days_never_share_a_row():
    midnight = (T // 86_400_000 + 1) * 86_400_000
    entries, rec = messages((1, 1, [(midnight - 10, 1.0)]), (1, 2, [(midnight + 10, 2.0)]))
    rows = store.coalesce(entries, rec)
    assert len(rows) == 2 and rows[0].day != rows[1].day


def test_sequence_numbers_in_a_row_are_relative_to_its_lowest():
    entries, rec = messages((1, 2**40 + 5, [(T, 1.0)]), (1, 2**40, [(T, 2.0)]))
    rows = store.coalesce(entries, rec)
    assert len(rows) == 1 and rows[0].seq == 2**40
    assert [m[0] for m in store.messages(rows[0].seq, rows[0].t0_ms, rows[0].msgs, rows[0].data)] == [2**40 + 5, 2**40]
    far, rec = messages((1, 0, [(T, 1.0)]), (1, 2**32, [(T, 2.0)]))  # too far apart for the 32-bit offset
    assert len(store.coalesce(far, rec)) == 2


def test_forgotten_holes_are_remembered_as_a_bound():
    st = track_sequence(SeqState(0, 0, []), [2, 4, 6, 8], 100, max_holes=2)
    assert st.holes == [[5, 5, 100], [7, 7, 100]] and st.forgotten == 3
    assert st.may_be_forgotten(3) and st.may_be_forgotten(1) and not st.may_be_forgotten(4)
    st = track_sequence(st, [10], 100, max_holes=2)
    assert st.holes == [[7, 7, 100], [9, 9, 100]] and st.forgotten == 5
    assert not SeqState(0, 9, []).may_be_forgotten(3)
