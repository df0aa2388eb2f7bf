//! Session windows of one key, as Flink's `EventTimeSessionWindows` (and
//! `ProcessingTimeSessionWindows`) with the `WindowOperator`'s
//! `MergingWindowSet`.
//!
//! An element at `ts` makes the window `[ts, ts + gap)`. It merges with every
//! open session it *intersects*, by `TimeWindow.intersects`
//! (`a.start <= b.end && a.end >= b.start`): bounds are inclusive, so two
//! sessions that merely touch (`[0, 10)` and `[10, 20)`) merge, i.e. events
//! `gap` apart belong to one session. The result covers them all
//! (`TimeWindow.cover`) and its state is the merge of theirs.
//!
//! Merging comes first and lateness is judged on the merged window: a late
//! element whose own window would be past its cleanup time still joins (and
//! may extend) an open session it touches. Only an element that touches no
//! open session and whose own window is past `end - 1 + lateness` is dropped.
//! After the element is added, a session already past its end (`end - 1 <=
//! watermark`) fires at once (`EventTimeTrigger.onElement`), an update if it
//! (or a session it absorbed) fired before; otherwise it fires when the
//! watermark reaches `end - 1`. A session is removed at `end - 1 + lateness`.

use std::mem::size_of;

use super::accumulate::Acc;
use super::assign::cleanup_time;
use super::operator::{Ctx, Drop, Element, Fire, KeyState};

#[derive(Debug, Clone)]
struct Session {
    start: i64,
    end: i64,
    acc: Acc,
    /// Times it (or the most-fired session it absorbed) fired.
    fired: u32,
}

impl Session {
    fn max_ts(&self) -> i64 {
        self.end.saturating_sub(1)
    }
}

/// One key's open sessions: disjoint, not touching, by start.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionKey {
    sessions: Vec<Session>,
}

impl KeyState for SessionKey {
    /// The gap.
    type Spec = i64;

    fn add(
        &mut self,
        gap: &i64,
        el: &Element<'_>,
        time: i64,
        lateness: i64,
        cap: Option<usize>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Option<i64>, Drop> {
        SessionKey::add(self, *gap, el, time, lateness, cap, ctx).map(Some)
    }

    fn on_timer(&mut self, _gap: &i64, t: i64, lateness: i64, ctx: &mut Ctx<'_>) -> Option<i64> {
        SessionKey::on_timer(self, t, lateness, ctx)
    }

    fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    fn open_units(&self) -> usize {
        self.sessions.len()
    }

    fn live_windows(&self, _gap: &i64, _time: i64, _lateness: i64) -> usize {
        self.sessions.len()
    }

    fn heap_bytes(&self) -> usize {
        let mut b = (self.sessions.capacity() - self.sessions.len()) * size_of::<Session>();
        for s in &self.sessions {
            b += size_of::<Session>() - size_of::<Acc>() + s.acc.bytes();
        }
        b
    }
}

impl SessionKey {
    /// Adds an element; returns the timer the key needs.
    pub fn add(
        &mut self,
        gap: i64,
        el: &Element<'_>,
        time: i64,
        lateness: i64,
        cap: Option<usize>,
        ctx: &mut Ctx<'_>,
    ) -> Result<i64, Drop> {
        let start = el.ts;
        let end = el.ts.saturating_add(gap);
        // Sessions intersecting [start, end] (inclusive bounds).
        let lo = self.sessions.partition_point(|s| s.end < start);
        let hi = self.sessions.partition_point(|s| s.start <= end);
        let i = if lo >= hi {
            if cleanup_time(end.saturating_sub(1), lateness) <= time {
                return Err(Drop::Late);
            }
            if cap.is_some_and(|c| self.sessions.len() >= c) {
                return Err(Drop::WindowLimit);
            }
            self.sessions.insert(
                lo,
                Session {
                    start,
                    end,
                    acc: ctx.em.layout.new_acc(),
                    fired: 0,
                },
            );
            lo
        } else {
            let mut absorbed: Vec<Session> = self.sessions.drain(lo + 1..hi).collect();
            let s = &mut self.sessions[lo];
            s.start = s.start.min(start);
            s.end = s.end.max(end);
            for a in absorbed.drain(..) {
                s.end = s.end.max(a.end);
                s.fired = s.fired.max(a.fired);
                s.acc.absorb(a.acc);
            }
            // A merge result always covers an open session, so it is never
            // past its cleanup time (Flink would throw if it were).
            debug_assert!(cleanup_time(s.max_ts(), lateness) > time);
            lo
        };
        let s = &mut self.sessions[i];
        ctx.em.layout.add(&mut s.acc, el.args, el.seq);
        if s.max_ts() <= time {
            let fire = Fire {
                start: s.start,
                end: s.end,
                event_time: s.max_ts(),
                firing: u64::from(s.fired),
                update: s.fired > 0,
                trigger: None,
            };
            s.fired += 1;
            ctx.fire_one(&mut s.acc, fire);
            Ok(cleanup_time(s.max_ts(), lateness))
        } else {
            Ok(s.max_ts())
        }
    }

    /// The key's timer at `t`: fires the session ending at `t + 1`, removes
    /// sessions past their cleanup time, returns the next timer.
    pub fn on_timer(&mut self, t: i64, lateness: i64, ctx: &mut Ctx<'_>) -> Option<i64> {
        if let Ok(i) = self.sessions.binary_search_by_key(&t, Session::max_ts) {
            let s = &mut self.sessions[i];
            let fire = Fire {
                start: s.start,
                end: s.end,
                event_time: s.max_ts(),
                firing: u64::from(s.fired),
                update: s.fired > 0,
                trigger: None,
            };
            s.fired += 1;
            ctx.fire_one(&mut s.acc, fire);
        }
        self.sessions
            .retain(|s| cleanup_time(s.max_ts(), lateness) > t);
        self.sessions
            .iter()
            .map(|s| {
                if s.max_ts() > t {
                    s.max_ts()
                } else {
                    cleanup_time(s.max_ts(), lateness)
                }
            })
            .min()
    }
}
