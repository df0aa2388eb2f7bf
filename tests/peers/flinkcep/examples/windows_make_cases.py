#!/usr/bin/env python3
"""Writes windows_cases.jsonl: hand-made cases for the Flink window peer
(cepheus.peer.window.Main), each showing one rule of Flink's window semantics.

Every case says, in `expect`, what Flink's WindowOperator does (from its source:
WindowOperator, EventTimeTrigger, TimeWindow, the assigners, MergingWindowSet,
CountTrigger, CountEvictor); windows_expected.jsonl is the peer's output, reviewed
against these comments. `expect` is a comment only: the peer ignores unknown members.

    python3 windows_make_cases.py          # rewrite windows_cases.jsonl
    ./windows_check.sh [--update]          # run the peer, compare with windows_expected.jsonl
"""
import json
import os

B = 1_700_000_000_000  # all timestamps are B + small offsets (B is a multiple of 1000)

ALL = [
    {"func": "count"},
    {"func": "count_nonnull", "field": "v"},
    {"func": "count_distinct", "field": "v"},
    {"func": "sum", "field": "v"},
    {"func": "avg", "field": "v"},
    {"func": "min", "field": "v"},
    {"func": "max", "field": "v"},
    {"func": "stddev", "field": "v"},
    {"func": "first", "field": "v"},
    {"func": "last", "field": "v"},
    {"func": "percentile", "field": "v", "q": 0.5},
]
COUNT = [{"func": "count"}]
CFL = [{"func": "count"}, {"func": "first", "field": "v"}, {"func": "last", "field": "v"}]


def ev(i, ts, v=None, key="a", **more):
    e = {"id": i, "key": key, "ts": B + ts, "v": v}
    e.update(more)
    return e


def case(name, window, events, aggs=COUNT, lateness=0, lag=0, expect=""):
    return {
        "case": name,
        "expect": expect,
        "window": window,
        "allowed_lateness_ms": lateness,
        "watermark": None if lag is None else {"lag_ms": lag},
        "aggregates": aggs,
        "events": events,
    }


T10 = {"kind": "tumbling", "size_ms": 10}
cases = [
    case("tumbling_all_aggregates", T10,
         [ev(1, 1, 1.5), ev(2, 2, None), ev(3, 3, 4.0), ev(4, 4, 1.5), ev(5, 8, -2.25), ev(6, 12, 7.0)],
         aggs=ALL,
         expect="[B, B+10): count 5, count(v) 4, distinct 3, sum 4.75, avg 1.1875, min -2.25, max 4, "
                "stddev = sample stddev of (1.5, 4, 1.5, -2.25), first 1.5, last -2.25, "
                "percentile 0.5 = 2nd smallest of 4 (nearest rank ceil(0.5*4)=2) = 1.5; "
                "fires when event 6 (ts B+12) moves the watermark to B+11 >= B+9. "
                "[B+10, B+20) fires at the final watermark."),
    case("tumbling_epoch_alignment", {"kind": "tumbling", "size_ms": 7},
         [ev(1, 0), ev(2, 5), ev(3, 6)],
         expect="windows are aligned to the epoch (offset 0): start = ts - ts mod 7. B mod 7 = 1, so B and B+5 "
                "are in [B-1, B+6), B+6 in [B+6, B+13)."),
    case("tumbling_fire_boundary", T10,
         [ev(1, 0), ev(2, 9), ev(3, 10)],
         expect="lag 0: the watermark after an event at t is t-1. After ts B+9 it is B+8 < B+9 (window max "
                "timestamp): nothing fires. After ts B+10 it is B+9: [B, B+10) fires with 2 events (at input #2)."),
    case("tumbling_late_dropped", T10,
         [ev(1, 1, 1.0), ev(2, 15, 2.0), ev(3, 5, 3.0), ev(4, 9, 4.0)],
         expect="no allowed lateness: after ts B+15 the watermark is B+14, [B, B+10) has fired (count 1) and is "
                "cleaned up; events 3 and 4 belong only to it: dropped (late_dropped 2, late_ids [3, 4])."),
    case("tumbling_late_but_window_open", T10,
         [ev(1, 1), ev(2, 8), ev(3, 5), ev(4, 25)],
         expect="after ts B+8 the watermark is B+7; event 3 (B+5) is behind the watermark but its window "
                "[B, B+10) has not fired: it is simply added (count 3), nothing dropped."),
    case("tumbling_lateness_updates", T10,
         [ev(1, 1, 1.0), ev(2, 12, 2.0), ev(3, 4, 3.0), ev(4, 7, 4.0), ev(5, 30, 5.0), ev(6, 2, 6.0)],
         aggs=[{"func": "count"}, {"func": "sum", "field": "v"}], lateness=10,
         expect="allowed lateness 10: [B, B+10) fires at watermark B+11 (count 1), then once per late event "
                "(EventTimeTrigger.onElement returns FIRE when the window's max timestamp <= watermark): "
                "count 2 (update), count 3 (update). At watermark B+29 >= B+9+10 it is cleaned up: event 6 "
                "(B+2) is dropped. [B+10, B+20) fires at B+29, [B+30, B+40) at the final watermark."),
    case("tumbling_lateness_first_firing_is_late", T10,
         [ev(1, 25), ev(2, 5)], lateness=30,
         expect="the watermark is B+24 when event 2 (B+5) arrives; [B, B+10) never existed, its cleanup time "
                "B+9+30 is ahead: the window is created and fires at once (update false: it never fired before)."),
    case("sliding_assignment", {"kind": "sliding", "size_ms": 10, "slide_ms": 4},
         [ev(1, 1), ev(2, 4)],
         expect="SlidingEventTimeWindows(10, 4): B+1 is in the windows starting at B, B-4, B-8; B+4 in B+4, B, "
                "B-4. At the final watermark they fire in timer order (by end): [B-8,B+2) 1, [B-4,B+6) 2, "
                "[B,B+10) 2, [B+4,B+14) 1."),
    case("sliding_partly_late", {"kind": "sliding", "size_ms": 10, "slide_ms": 5},
         [ev(1, 1), ev(2, 11), ev(3, 8), ev(4, 3)],
         expect="after ts B+11 the watermark is B+10: [B-5, B+5) and [B, B+10) fire. Event 3 (B+8) belongs to "
                "[B, B+10), past cleanup (skipped), and [B+5, B+15), open: it goes there and is NOT dropped (an "
                "event is dropped only when all its windows are late). Event 4 (B+3) belongs to [B-5, B+5) and "
                "[B, B+10), both past cleanup: dropped. [B+5, B+15) fires with 2 events at the end."),
    case("session_merge", {"kind": "session", "gap_ms": 5},
         [ev(1, 0, 1.0), ev(2, 3, 2.0), ev(3, 20, 3.0), ev(4, 12, 4.0), ev(5, 7, 5.0)],
         aggs=CFL, lateness=20,
         expect="gap 5: [B, B+8) fires at watermark B+19 (count 2). Event 4 (B+12) makes [B+12, B+17): behind "
                "the watermark, fires at once (count 1, not an update). Event 5 (B+7) makes [B+7, B+12), which "
                "overlaps both: MergingWindowSet merges all three into [B, B+17), which fires at once with 4 "
                "events (update: it contains windows that fired). first/last by arrival: 1.0 / 5.0."),
    case("session_touching_windows_merge", {"kind": "session", "gap_ms": 10},
         [ev(1, 0), ev(2, 10), ev(3, 21)],
         expect="TimeWindow.intersects is inclusive (start <= other.end && end >= other.start): the windows "
                "[B, B+10) and [B+10, B+20) touch and merge: events exactly `gap` apart are ONE session "
                "[B, B+20) (count 2). B+21 starts a new one."),
    case("session_late_dropped", {"kind": "session", "gap_ms": 5},
         [ev(1, 0), ev(2, 20), ev(3, 2)],
         expect="no lateness: event 3's session [B+2, B+7) is past cleanup at watermark B+19: dropped."),
    case("session_grows_over_cleaned_window", {"kind": "session", "gap_ms": 20},
         [ev(1, 11), ev(5, 28), ev(7, -19), ev(11, 57), ev(13, -8), ev(15, -27)],
         aggs=[{"func": "count"}, {"func": "sum", "field": "id"}], lateness=38, lag=12,
         expect="(found by the differential test) [B-19, B+1) (event 7) fires at once when it arrives "
                "(watermark B+15), and is cleaned up when the watermark reaches B+0+38 (after event 11: B+44). "
                "Event 13 then joins [B+11, B+48) as [B-8, B+48), and event 15 extends it to [B-27, B+48): "
                "it covers the old window's time range but not its contents (count 4: ids 1, 5, 13, 15) and "
                "it is NOT an update: nothing of it fired before."),
    case("count_tumbling", {"kind": "count", "size": 3},
         [ev(i, i, float(i)) for i in range(1, 9)], aggs=CFL,
         expect="countWindow(3) = GlobalWindows + PurgingTrigger(CountTrigger(3)): fires after events 3 and 6 "
                "(1..3, 4..6); events 7, 8 never fire (GlobalWindows has no end; the final watermark fires "
                "nothing)."),
    case("count_sliding", {"kind": "count", "size": 3, "slide": 2},
         [ev(i, i, float(i)) for i in range(1, 8)], aggs=CFL,
         expect="countWindow(3, 2) = GlobalWindows + CountEvictor(3) + CountTrigger(2): fires after every 2nd "
                "event of the key with the last 3 events: [1,2], [2,3,4], [4,5,6]; event 7 waits."),
    case("count_ignores_time", {"kind": "count", "size": 2},
         [ev(1, 100, 1.0), ev(2, 0, 2.0), ev(3, 50, 3.0), ev(4, 1, 4.0)], aggs=CFL,
         expect="count windows count arrivals, not event time: GlobalWindows is not an event-time assigner, so "
                "no event is ever late. Fires [1,2] and [3,4] in arrival order, nothing dropped."),
    case("count_per_key", {"kind": "count", "size": 2},
         [ev(1, 0, 1.0, "a"), ev(2, 1, 2.0, "b"), ev(3, 2, 3.0, "a"), ev(4, 3, 4.0, "b"), ev(5, 4, 5.0, "a")],
         aggs=CFL,
         expect="one count per key: a fires [1,3], b fires [2,4]; a's 5 waits."),
    case("nulls", T10,
         [ev(1, 1, None), ev(2, 2, None), ev(3, 13, 1.0)],
         aggs=ALL,
         expect="[B, B+10) has only nulls: count 2, count(v) 0, count_distinct 0, sum null, avg null, min null, "
                "max null, stddev null, first null, last null (first/last are the values of the first/last "
                "event, null included), percentile null. [B+10,B+20): one value: stddev null (n < 2)."),
    case("percentile_nearest_rank", {"kind": "tumbling", "size_ms": 100},
         [ev(i, i, float(11 - i)) for i in range(1, 11)],
         aggs=[{"func": "percentile", "field": "v", "q": q} for q in (0.0, 0.1, 0.25, 0.5, 0.9, 0.95, 1.0)],
         expect="values 1..10; nearest rank = ceil(q*n)-th smallest (at least the 1st): q 0 -> 1, 0.1 -> 1, "
                "0.25 -> 3, 0.5 -> 5, 0.9 -> 9, 0.95 -> 10, 1 -> 10."),
    case("ints_and_strings", T10,
         [ev(1, 1, None, n=3, tag="b"), ev(2, 2, None, n=4, tag="a"), ev(3, 3, None, n=None, tag="B"),
          ev(4, 4, None, n=3, tag=None)],
         aggs=[{"func": "sum", "field": "n"}, {"func": "avg", "field": "n"}, {"func": "count_distinct", "field": "n"},
               {"func": "min", "field": "tag"}, {"func": "max", "field": "tag"},
               {"func": "count_distinct", "field": "tag"}, {"func": "first", "field": "tag"},
               {"func": "last", "field": "tag"}],
         expect="integers sum to an integer (10), avg 3.3333333333333335; strings order by code point "
                "(min 'B', max 'b'); last tag is null (the last event's)."),
    case("equal_timestamps_arrival_order", T10,
         [ev(1, 5, 1.0), ev(2, 5, 2.0), ev(3, 5, 3.0)], aggs=CFL,
         expect="first/last follow arrival order: 1.0 / 3.0."),
    case("final_watermark_only", {"kind": "tumbling", "size_ms": 10},
         [ev(1, 30), ev(2, 1), ev(3, 15)], lag=None,
         expect="no watermarks until the end (\"watermark\": null): nothing is late; the final watermark "
                "(Long.MAX_VALUE) fires every window in end order: [B,B+10), [B+10,B+20), [B+30,B+40)."),
    case("no_key", T10,
         [{"id": 1, "ts": B + 1, "v": 1.0}, {"id": 2, "ts": B + 2, "v": 2.0}],
         expect="events without a key share one partition, reported as key null."),
    case("bad_window", {"kind": "hopping", "size_ms": 10}, [ev(1, 1)],
         expect="error: unknown window kind."),
]

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "windows_cases.jsonl"), "w") as f:
    for c in cases:
        f.write(json.dumps(c) + "\n")
print(f"wrote {len(cases)} cases to windows_cases.jsonl")
