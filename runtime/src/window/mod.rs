//! Windowed aggregations: the keyed window operator of aggregation rules
//! (`window tumbling | sliding | session | count`), with exactly the
//! semantics of Apache Flink's DataStream windows (`WindowOperator` with the
//! default triggers), so that a rule's alerts equal what the corresponding
//! Flink job fires on the same input.
//!
//! [`WindowOperator`] has the pattern operator's shape: per-key state, one
//! timer per key, `on_event(event, now_ms, out)`,
//! `on_watermark(watermark, now_ms, out)` and, for streams without a `time`
//! field, `on_processing_time(clock_ms, now_ms, out)`. It never reads a clock.
//!
//! # Semantics
//!
//! | rule | Flink |
//! |---|---|
//! | `tumbling S` | `TumblingEventTimeWindows.of(S)` (processing time: `TumblingProcessingTimeWindows`) |
//! | `sliding S every D` | `SlidingEventTimeWindows.of(S, D)` |
//! | `session gap G` | `EventTimeSessionWindows.withGap(G)` (merging) |
//! | `count N` | `countWindow(N)`: `GlobalWindows` + `PurgingTrigger(CountTrigger(N))` |
//! | `count N every M` | `countWindow(N, M)`: `GlobalWindows` + `CountEvictor(N)` + `CountTrigger(M)` |
//! | `allow lateness L` | `allowedLateness(L)` |
//! | `where` | a `filter` before `keyBy` |
//! | `partition by k` | `keyBy(k)`; without it, one key for the whole stream |
//!
//! * **Assignment** ([`assign`]): windows are aligned to the epoch (offset 0):
//!   `start = ts - (ts mod size)` with floor semantics for negative times
//!   (`TimeWindow.getWindowStartWithOffset`); a window is `[start, end)` and
//!   its `maxTimestamp` is `end - 1`.
//! * **Firing** (`EventTimeTrigger`): a window fires when the watermark
//!   reaches `end - 1` (`watermark >= end - 1`), if it holds any element. The
//!   fired result is the aggregate over *all* of the window's elements
//!   (`FIRE`, not `FIRE_AND_PURGE`).
//! * **Lateness**: a window is late once `end - 1 + L <= watermark` (its
//!   cleanup time; saturating at `i64::MAX`). An element is added to each of
//!   its windows that is not late. If such a window is already past its end
//!   (`end - 1 <= watermark`) it fires again at once with the element in it:
//!   the alert has `update: true`. An element whose windows are all late is
//!   dropped and counted ([`WindowStats::dropped_late`]): never silently
//!   lost. A window's state is removed at its cleanup time.
//! * **Sessions** ([`session`]): windows `[ts, ts + gap)` merge when they
//!   intersect with inclusive bounds (events exactly `gap` apart share a
//!   session), before lateness is judged on the merged window, so a late
//!   element can still join, extend and re-fire an open session.
//! * **Count windows** ([`count`]): per key, in arrival order (no event-time
//!   ordering, no watermark, nothing is ever late); a window that never
//!   fills never fires.
//! * **Processing time**: the event's time is the `now_ms` it is given (but
//!   never at or before a clock already given to
//!   [`WindowOperator::on_processing_time`]); windows fire when the clock
//!   reaches `end - 1` and are removed then (Flink ignores allowed lateness
//!   in processing time). A bounded run ends with the clock at `i64::MAX`.
//! * **Order of alerts**: timers fire in time order, so windows fire by
//!   `end - 1`; keys whose windows end at the same time fire in an order that
//!   depends only on the input (Flink's timer heap leaves that order
//!   unspecified). A late element re-fires its windows newest start first,
//!   as Flink's `SlidingEventTimeWindows` lists them.
//!
//! # Alerts
//!
//! `window: {start, end}` in RFC 3339; `event_time` is Flink's emitted
//! timestamp `window.maxTimestamp()` = `end - 1 ms`; `update` is true when
//! the window (or, for a session, a session it absorbed) fired before.
//! `having` filters fired windows; `emit` reads aggregates, keys and
//! `window.start` / `window.end`. The id hashes rule, version, key, window
//! start and end and the firing number (0 for the first firing of a window,
//! then 1, 2, ... for updates); a count window, which has no bounds of its
//! own (its alert shows the least event time and the greatest + 1 ms), uses
//! the position of the element that filled it instead of a firing number.
//! Replaying the same input gives the same ids.
//!
//! # Aggregates
//!
//! Incremental, exact: see [`accumulate`] for the definitions (nulls,
//! `stddev` as Flink SQL's sample `STDDEV`, `first`/`last` by *arrival
//! order* (not by event time: the first / last event the window received,
//! null included), `percentile(x, q)` by *nearest rank*: the
//! `ceil(q * n)`-th smallest of the `n` non-null values, clamped to
//! `1..=n`, always one of the values, no interpolation). An event updates
//! one accumulator per key: tumbling windows and sessions hold one each;
//! sliding windows are kept as panes of `gcd(size, slide)` ([`panes`]) that
//! are merged when a window fires, never copied into every window they
//! belong to.
//!
//! `count_distinct` and `percentile` are **exact** (no sketches), and that
//! costs state proportional to the data, not a constant:
//!
//! * `count_distinct(x)` keeps a hash set of the distinct non-null values per
//!   window (per pane for sliding windows): 29-57 bytes per distinct value
//!   (a bucket holds a 24-byte `Value` and a control byte; the table is
//!   between 7/16 and 7/8 full; strings are shared with the events, not
//!   copied). A sliding window that fires merges
//!   its panes' sets into a scratch set: O(distinct values in the window).
//! * `percentile(x, q)` keeps every non-null value as an `f64` per window or
//!   pane: 8 bytes per event (plus the vector's spare capacity); firing
//!   copies the window's values and selects the rank in O(n), so a sliding
//!   window costs O(events in the window) per firing, once per slide.
//!
//! The other aggregates hold a fixed-size cell each (`count`, `sum`, `avg`,
//! `stddev`: 8-48 bytes; `min`, `max`, `first`, `last`: one value).
//!
//! # Limits
//!
//! [`WindowOperator::with_max_open_windows`] caps the open windows of one
//! key; an element that would exceed it is dropped and counted
//! ([`WindowStats::dropped_window_limit`]).

pub mod accumulate;
pub mod assign;
pub mod count;
mod hash;
mod keys;
mod operator;
pub mod panes;
pub mod session;

use thiserror::Error;

pub use operator::{Firing, FiringSink, WindowOperator};

#[derive(Debug, Error)]
pub enum BuildError {
    #[error("rule '{0}' is not an aggregation (window) rule")]
    NotAWindowRule(String),
    #[error("rule '{rule}': invalid window {what}")]
    BadWindow { rule: String, what: &'static str },
    #[error("rule '{rule}': {source}")]
    Expr {
        rule: String,
        source: crate::expr::CompileError,
    },
}

/// Counters the operator keeps (exported as metrics by the service).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowStats {
    /// Events seen, before `where`.
    pub events: u64,
    /// Events `where` rejected.
    pub filtered_out: u64,
    /// Event time: events at or behind the watermark when they arrived
    /// (late, whether or not allowed lateness kept them).
    pub late_events: u64,
    /// Late events dropped: every window they belong to was past its end
    /// plus the allowed lateness.
    pub dropped_late: u64,
    /// Events dropped because they would open a window beyond the per-key
    /// limit.
    pub dropped_window_limit: u64,
    /// Window firings (each on-time firing and each update).
    pub windows_fired: u64,
    /// Firings that were updates (a window firing again).
    pub updates: u64,
    /// Firings `having` rejected.
    pub rejected_by_having: u64,
    /// Alerts emitted.
    pub alerts: u64,
}
