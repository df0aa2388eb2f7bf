#!/usr/bin/env python3
"""Writes examples/cases.jsonl: hand-made cases for the FlinkCEP peer.

Each case says, in its comment, what FlinkCEP's documentation (or a careful reading of
the NFA) says the result must be; check.sh runs the peer and diffs its output against
examples/expected.jsonl, which was reviewed against these comments.
Run:  python3 examples/make_cases.py > examples/cases.jsonl
"""
import json


def ty(t):
    """condition: type == t"""
    return {"op": "==", "args": [{"field": "type"}, {"lit": t}]}


def cmp(op, a, b):
    return {"op": op, "args": [a, b]}


def f(name):
    return {"field": name}


def lit(v):
    return {"lit": v}


def st(name, contiguity, condition=None, **kw):
    s = {"name": name, "contiguity": contiguity, "condition": condition, "until": None,
         "quantifier": None, "optional": False, "greedy": False, "consecutive": False,
         "allowCombinations": False, "group": None}
    s.update(kw)
    return s


def group(contiguity, stages, **kw):
    s = st(None, contiguity, None, group=stages, **kw)
    del s["name"]
    return s


def oneOrMore():
    return {"kind": "oneOrMore"}


def times(a, b=None):
    return {"kind": "times", "from": a, "to": a if b is None else b}


def timesOrMore(a):
    return {"kind": "timesOrMore", "from": a}


def pat(stages, within=None, skip="noSkip", var=None, throw=False):
    s = {"strategy": skip}
    if var is not None:
        s["var"] = var
    if throw:
        s["throw_exception_on_miss"] = True
    return {"stages": stages, "within_ms": within, "skip": s}


def evs(spec, key="k1", t0=1000, step=1000):
    """'a b1 c' -> events with ids 1.., type = letters of the token, ts = t0 + i*step."""
    out = []
    for i, tok in enumerate(spec.split()):
        out.append({"id": i + 1, "key": key, "ts": t0 + i * step,
                    "type": tok.rstrip("0123456789"), "name": tok})
    return out


cases = []


def case(name, pattern, events, **extra):
    c = {"case": name, "pattern": pattern, "events": events}
    c.update(extra)
    cases.append(c)


# ---------------------------------------------------------------- contiguity
# Docs ("Combining Patterns"): pattern "a b", input "a c b1 b2":
#   strict -> no match; relaxed -> {a b1}; non-deterministic relaxed -> {a b1}, {a b2}
ev = evs("a c b1 b2")
case("next", pat([st("a", "begin", ty("a")), st("b", "next", ty("b"))]), ev)
case("followedBy", pat([st("a", "begin", ty("a")), st("b", "followedBy", ty("b"))]), ev)
case("followedByAny", pat([st("a", "begin", ty("a")), st("b", "followedByAny", ty("b"))]), ev)
# strict contiguity that holds: a b -> {a:1, b:2}; a2 x b2: no
case("next_hit", pat([st("a", "begin", ty("a")), st("b", "next", ty("b"))]), evs("a1 b1 a2 x b2"))

# ---------------------------------------------------------------- negation
# a notNext(c) followedBy(b): the event right after a must not be c.
#   a1 c1 b1 a2 x b2  ->  a1 is followed by c1: dropped;  a2 x b2 -> {a:a2, b:b2}
case("notNext", pat([st("a", "begin", ty("a")), st("c", "notNext", ty("c")),
                     st("b", "followedBy", ty("b"))]), evs("a1 c1 b1 a2 x b2"))
# a notFollowedBy(c) followedBy(b): no c between a and b.
#   a1 c1 b1 a2 x b2 -> a1: c1 before any b, dropped;  a2 .. b2 -> {a2 b2}
case("notFollowedBy_middle", pat([st("a", "begin", ty("a")), st("c", "notFollowedBy", ty("c")),
                                  st("b", "followedBy", ty("b"))]), evs("a1 c1 b1 a2 x b2"))
# trailing notFollowedBy needs within: "a, then no c within 5 s".
#   a1@1000 x@2000 c@3000 (c within 5 s of a1 -> no match for a1)
#   a2@10000 x@12000 (no c before 15000) -> {a:a2}, emitted when time passes 15000
case("notFollowedBy_trailing_within", pat([st("a", "begin", ty("a")), st("c", "notFollowedBy", ty("c"))],
                                          within=5000),
     [{"id": 1, "key": "k1", "ts": 1000, "type": "a"}, {"id": 2, "key": "k1", "ts": 2000, "type": "x"},
      {"id": 3, "key": "k1", "ts": 3000, "type": "c"}, {"id": 4, "key": "k1", "ts": 10000, "type": "a"},
      {"id": 5, "key": "k1", "ts": 12000, "type": "x"}])
# without within FlinkCEP rejects the pattern
case("notFollowedBy_trailing_no_within_error",
     pat([st("a", "begin", ty("a")), st("c", "notFollowedBy", ty("c"))]), evs("a1 x"))

# ---------------------------------------------------------------- quantifiers
# a{2,3} -> b (followedBy), input a1 a2 a3 b: from a1: {a1 a2 b}, {a1 a2 a3 b}; from a2: {a2 a3 b}
case("times_2_3", pat([st("a", "begin", ty("a"), quantifier=times(2, 3)),
                       st("b", "followedBy", ty("b"))]), evs("a1 a2 a3 b1"))
# a{2} exactly: a1 a2 a3 b -> {a1 a2 b}, {a2 a3 b}
case("times_2", pat([st("a", "begin", ty("a"), quantifier=times(2)),
                     st("b", "followedBy", ty("b"))]), evs("a1 a2 a3 b1"))
# s -> a{2,}? -> b : a is optional; s1 b1 -> {s1 b1}; s1 a1 a2 b -> also {s a1 a2 b}
case("timesOrMore_optional", pat([st("s", "begin", ty("s")),
                                  st("a", "followedBy", ty("a"), quantifier=timesOrMore(2), optional=True),
                                  st("b", "followedBy", ty("b"))]), evs("s1 a1 b1 a2 a3 b2"))
# a+ greedy then b where b's condition overlaps a's: a: v < 10, b: v > 5
#   v = 1, 6, 12 (ids 1..3). Greedy a takes 6 instead of letting b have it:
#   {a:[1,2], b:[3]}, {a:[2], b:[3]}  (non-greedy would also give {a:[1], b:[2]})
vev = [{"id": i + 1, "key": "k1", "ts": 1000 * (i + 1), "v": v} for i, v in enumerate([1, 6, 12])]
case("oneOrMore_greedy", pat([st("a", "begin", cmp("<", f("v"), lit(10)), quantifier=oneOrMore(), greedy=True),
                              st("b", "followedBy", cmp(">", f("v"), lit(5)))]), vev)
case("oneOrMore_not_greedy", pat([st("a", "begin", cmp("<", f("v"), lit(10)), quantifier=oneOrMore()),
                                  st("b", "followedBy", cmp(">", f("v"), lit(5)))]), vev)
# Docs ("consecutive()"): pattern c, a+ consecutive, b over "C D A1 A2 A3 D A4 B":
#   consecutive -> {C A1 B}, {C A1 A2 B}, {C A1 A2 A3 B}
#   relaxed     -> {C A1 B}, {C A1 A2 B}, {C A1 A2 A3 B}, {C A1 A2 A3 A4 B}
cdab = evs("c d a1 a2 a3 d a4 b")
case("consecutive", pat([st("c", "begin", ty("c")),
                         st("a", "followedBy", ty("a"), quantifier=oneOrMore(), consecutive=True),
                         st("b", "followedBy", ty("b"))]), cdab)
case("relaxed_loop", pat([st("c", "begin", ty("c")),
                          st("a", "followedBy", ty("a"), quantifier=oneOrMore()),
                          st("b", "followedBy", ty("b"))]), cdab)
# Docs ("allowCombinations()"): same input ->
#   {C A1 B}, {C A1 A2 B}, {C A1 A3 B}, {C A1 A4 B}, {C A1 A2 A3 B}, {C A1 A2 A4 B},
#   {C A1 A3 A4 B}, {C A1 A2 A3 A4 B}
case("allowCombinations", pat([st("c", "begin", ty("c")),
                               st("a", "followedBy", ty("a"), quantifier=oneOrMore(), allowCombinations=True),
                               st("b", "followedBy", ty("b"))]), cdab)
# consecutive + allowCombinations: FlinkCEP throws
case("consecutive_and_combinations_error",
     pat([st("a", "begin", ty("a"), quantifier=oneOrMore(), consecutive=True, allowCombinations=True)]), evs("a1"))
# until: s -> a+ until (type == u) -> b. The until event closes the loop (no more events are
# accepted into a) but does not kill the partial match, which can still go on to b.
#   s1 a1 a2 u1 a3 b1 -> {s a1 a2 b1}, {s a1 b1}; never a = [a1 a2 a3] (that needs a3 after u1)
#   s1 a1 a2 b1 u1    -> {s a1 a2 b1}, {s a1 b1}
case("until_blocks", pat([st("s", "begin", ty("s")),
                          st("a", "followedBy", ty("a"), quantifier=oneOrMore(), until=ty("u")),
                          st("b", "followedBy", ty("b"))]), evs("s1 a1 a2 u1 a3 b1"))
case("until_passes", pat([st("s", "begin", ty("s")),
                          st("a", "followedBy", ty("a"), quantifier=oneOrMore(), until=ty("u")),
                          st("b", "followedBy", ty("b"))]), evs("s1 a1 a2 b1 u1"))
# until on a non-looping stage: FlinkCEP throws
case("until_on_times_error", pat([st("a", "begin", ty("a"), quantifier=times(2), until=ty("u"))]), evs("a1 a2"))
# greedy stage followed by an optional one: FlinkCEP throws
case("greedy_then_optional_error", pat([st("a", "begin", ty("a"), quantifier=oneOrMore(), greedy=True),
                                        st("b", "followedBy", ty("b"), optional=True)]), evs("a1 b1"))

# ---------------------------------------------------------------- group
# x -> (a -> b){2}: x a1 b1 a2 b2 -> {x, a:[a1,a2], b:[b1,b2]}
case("group_times", pat([st("x", "begin", ty("x")),
                         group("followedBy", [st("a", "begin", ty("a")), st("b", "followedBy", ty("b"))],
                               quantifier=times(2))]), evs("x1 a1 b1 a2 b2"))

# ---------------------------------------------------------------- iterative conditions
# rising run: a+ consecutive with (count(a) == 0 or v > last(a).v), then next b with v < first(a).v
#   v: 5 6 7 3 (ids 1..4). b must come right after the run, so the run must end at 7:
#   {a:[5,6,7] b:3}, {a:[6,7] b:3}, {a:[7] b:3}
it_ev = [{"id": i + 1, "key": "k1", "ts": 1000 * (i + 1), "v": v} for i, v in enumerate([5, 6, 7, 3])]
case("iterative_first_last",
     pat([st("a", "begin", {"op": "or", "args": [cmp("==", {"agg": "count", "var": "a"}, lit(0)),
                                                  cmp(">", f("v"), {"agg": "last", "var": "a", "field": "v"})]},
             quantifier=oneOrMore(), consecutive=True),
          st("b", "next", cmp("<", f("v"), {"agg": "first", "var": "a", "field": "v"}))]), it_ev)
# sum/avg over an earlier variable: a+ then b with v > sum(a.v)
sum_ev = [{"id": i + 1, "key": "k1", "ts": 1000 * (i + 1), "type": t, "v": v}
          for i, (t, v) in enumerate([("a", 1), ("a", 2), ("b", 2.5), ("b", 4)])]
case("iterative_sum",
     pat([st("a", "begin", ty("a"), quantifier=oneOrMore()),
          st("b", "followedBy", {"op": "and", "args": [ty("b"), cmp(">", f("v"),
                                                                   {"agg": "sum", "var": "a", "field": "v"})]})]),
     sum_ev)

# ---------------------------------------------------------------- skip strategies
# Docs ("After Match Skip Strategy"), pattern b+ c (here: b oneOrMore, next c), input b1 b2 b3 c:
#   NO_SKIP:              b1 b2 b3 c / b2 b3 c / b3 c
#   SKIP_TO_NEXT:         b1 b2 b3 c / b2 b3 c / b3 c
#   SKIP_PAST_LAST_EVENT: b1 b2 b3 c
#   SKIP_TO_FIRST[b]:     b1 b2 b3 c / b2 b3 c / b3 c   <- docs; FlinkCEP 1.20.3 emits only b1 b2 b3 c
#   SKIP_TO_LAST[b]:      b1 b2 b3 c / b3 c
# QUIRK (skip_toFirst_b): with any skip strategy but noSkip, a completed match is held back while
# a partial match that started earlier is still open (NFA.processMatchesAccordingToSkipStrategy).
# Here the b-loop partial match starting at b1 stays open forever (no within), so b2 b3 c and b3 c
# are never emitted, even after the final watermark. With a within (skip_toFirst_b_within) the
# open partial match times out at the final watermark and the held-back matches are released.
bpc = [st("b", "begin", ty("b"), quantifier=oneOrMore()), st("c", "next", ty("c"))]
bev = evs("b1 b2 b3 c1")
case("skip_noSkip", pat(bpc, skip="noSkip"), bev)
case("skip_toNext", pat(bpc, skip="skipToNext"), bev)
case("skip_pastLast", pat(bpc, skip="skipPastLastEvent"), bev)
case("skip_toFirst_b", pat(bpc, skip="skipToFirst", var="b"), bev)
case("skip_toLast_b", pat(bpc, skip="skipToLast", var="b"), bev)
case("skip_toFirst_b_within", pat(bpc, skip="skipToFirst", var="b", within=10000), bev)
# Docs: pattern a b+ and input a b1 b2 b3:
#   NO_SKIP: a b1 / a b1 b2 / a b1 b2 b3;  SKIP_TO_NEXT: a b1
abp = [st("a", "begin", ty("a")), st("b", "followedBy", ty("b"), quantifier=oneOrMore())]
case("skip_noSkip_ab", pat(abp), evs("a1 b1 b2 b3"))
case("skip_toNext_ab", pat(abp, skip="skipToNext"), evs("a1 b1 b2 b3"))
# Docs: pattern (a | b | c) (b | c) c+.greedy d, input a b c1 c2 c3 d:
#   NO_SKIP: a b c1 c2 c3 d / b c1 c2 c3 d / c1 c2 c3 d
#   SKIP_TO_FIRST[c*]: a b c1 c2 c3 d / c1 c2 c3 d
anyof = lambda *ts: {"op": "or", "args": [ty(t) for t in ts]}
abcd = [st("x", "begin", anyof("a", "b", "c")), st("y", "next", anyof("b", "c")),
        st("c", "next", ty("c"), quantifier=oneOrMore(), greedy=True), st("d", "next", ty("d"))]
case("skip_docs_noSkip", pat(abcd), evs("a1 b1 c1 c2 c3 d1"))
case("skip_docs_toFirst_c", pat(abcd, skip="skipToFirst", var="c"), evs("a1 b1 c1 c2 c3 d1"))
# skip to a variable the pattern lacks: FlinkCEP throws at compile time
case("skip_unknown_var_error", pat(bpc, skip="skipToFirst", var="zz"), bev)
# skipToFirst[a] with throwExceptionOnMiss: a is optional, so the first match {b1} has no a ->
#   FlinkCEP throws at run time (while pruning), not when the pattern is built
case("skip_toFirst_throw_on_miss",
     pat([st("a", "begin", ty("a"), optional=True), st("b", "followedBy", ty("b"))],
         skip="skipToFirst", var="a", throw=True), evs("b1 a1 b2"))

# ---------------------------------------------------------------- within / timeouts
# a -> b within 5 s. k1: a@1000, b@4000 -> match. k2: a@2000, b@9000 -> a times out at 7000.
case("within_timeout", pat([st("a", "begin", ty("a")), st("b", "followedBy", ty("b"))], within=5000),
     [{"id": 1, "key": "k1", "ts": 1000, "type": "a"}, {"id": 2, "key": "k2", "ts": 2000, "type": "a"},
      {"id": 3, "key": "k1", "ts": 4000, "type": "b"}, {"id": 4, "key": "k2", "ts": 9000, "type": "b"}])
# the window is [first, first + within): an event exactly at first + within is too late
case("within_boundary", pat([st("a", "begin", ty("a")), st("b", "followedBy", ty("b"))], within=5000),
     [{"id": 1, "key": "k1", "ts": 1000, "type": "a"}, {"id": 2, "key": "k1", "ts": 6000, "type": "b"},
      {"id": 3, "key": "k1", "ts": 6000, "type": "a"}, {"id": 4, "key": "k1", "ts": 10999, "type": "b"}])
# a loop's partial matches time out: a+ -> b within 3 s, a1@1000 a2@2000 x@3000, no b.
# FlinkCEP reports every open NFA computation state, so the same events can appear twice
# (one state still looping in a, one waiting for b): [a1 a2] x2 and [a1] (timeout 4000),
# [a2] x2 (timeout 5000).
case("loop_timeout", pat([st("a", "begin", ty("a"), quantifier=oneOrMore()), st("b", "followedBy", ty("b"))],
                         within=3000), evs("a1 a2 x1"))

# ---------------------------------------------------------------- partitions and time
# no key: one partition; equal timestamps keep arrival order (a then b at the same ts)
case("no_key_equal_ts", pat([st("a", "begin", ty("a")), st("b", "next", ty("b"))]),
     [{"id": 1, "ts": 1000, "type": "a"}, {"id": 2, "ts": 1000, "type": "b"},
      {"id": 3, "ts": 2000, "type": "b"}, {"id": 4, "ts": 2000, "type": "a"}])
# keys partition the stream: a(k1) b(k2) b(k1) -> only {a1 b3} on k1 with strict contiguity
case("keys", pat([st("a", "begin", ty("a")), st("b", "next", ty("b"))]),
     [{"id": 1, "key": "k1", "ts": 1000, "type": "a"}, {"id": 2, "key": "k2", "ts": 2000, "type": "b"},
      {"id": 3, "key": "k1", "ts": 3000, "type": "b"}])
# out-of-order input is sorted by CepOperator's buffer (ts order), ids show arrival
case("buffer_sorts_by_ts", pat([st("a", "begin", ty("a")), st("b", "next", ty("b"))]),
     [{"id": 1, "key": "k1", "ts": 2000, "type": "b"}, {"id": 2, "key": "k1", "ts": 1000, "type": "a"}])
# live-like watermarks (lag 0): the out-of-order event 3 (ts 1500 <= watermark 1999) is late
case("watermark_late", pat([st("a", "begin", ty("a")), st("b", "followedBy", ty("b"))]),
     [{"id": 1, "key": "k1", "ts": 1000, "type": "a"}, {"id": 2, "key": "k1", "ts": 2000, "type": "x"},
      {"id": 3, "key": "k1", "ts": 1500, "type": "b"}, {"id": 4, "key": "k1", "ts": 3000, "type": "b"}],
     watermark_lag_ms=0)

# QUIRK: with a skip strategy and within, WHEN the watermark advances changes the timeouts.
# a (type a) -> b+ (type b, v > first(a).v), within 100 ms, skip past last event.
#   a1@1000 v=10, a2@1050 v=1, b1@1060 v=5.  b1 can't serve a1 (5 < 10), so a1 stays open until
#   1100; the match {a2 b1} completes at 1060 but is held back behind a1 (see skip_toFirst_b).
#   final watermark only: at the end both a1 (1100) and the b-loop branch {a2 b1} (1150) time out
#     together, then {a2 b1} is released -> timeouts {a1}, {a2 b1}; match {a2 b1}
#   watermark 1120 after b1: a1 times out, {a2 b1} is released and skip-past-last prunes the
#     branch {a2 b1 ...} before it can time out -> timeouts {a1} only; match {a2 b1}
hold = pat([st("a", "begin", ty("a")),
            st("b", "followedBy", {"op": "and", "args": [ty("b"), cmp(">", f("v"), {"agg": "first", "var": "a", "field": "v"})]},
               quantifier=oneOrMore())], within=100, skip="skipPastLastEvent")
hold_ev = [{"id": 1, "key": "k1", "ts": 1000, "type": "a", "v": 10}, {"id": 2, "key": "k1", "ts": 1050, "type": "a", "v": 1},
           {"id": 3, "key": "k1", "ts": 1060, "type": "b", "v": 5}]
case("skip_hold_timeouts_final_watermark", hold, hold_ev)
case("skip_hold_timeouts_explicit_watermark", hold, hold_ev + [{"watermark": 1120}])

for c in cases:
    print(json.dumps(c, separators=(",", ":")))
