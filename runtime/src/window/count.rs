//! Count windows of one key, as Flink's `KeyedStream.countWindow`:
//!
//! * `count N` is `countWindow(N)`: `GlobalWindows` with
//!   `PurgingTrigger.of(CountTrigger.of(N))`: every N-th element of the key
//!   fires the window with those N elements and empties it.
//! * `count N every M` is `countWindow(N, M)`: `GlobalWindows` with
//!   `CountEvictor.of(N)` and `CountTrigger.of(M)`: every M-th element fires
//!   with the last `min(N, elements so far)` elements (so the first firings,
//!   before N elements arrived, hold fewer than N), and elements before those
//!   are evicted.
//!
//! Elements count in arrival order, whatever their timestamps (Flink's
//! `GlobalWindows` is not an event-time assigner: no watermark, no lateness,
//! nothing is ever late). A window that never fills never fires (Flink's
//! count trigger does not fire at the end of input).
//!
//! State is kept as panes of `gcd(N, M)` elements, so an element updates one
//! accumulator and a firing merges `N / gcd` panes. An alert's window bounds
//! are the least event time in it and the greatest plus 1 ms (`GlobalWindow`
//! has none of its own); its event time is that greatest time.

use std::collections::VecDeque;
use std::mem::size_of;

use super::accumulate::Acc;
use super::assign::gcd;
use super::operator::{Ctx, Drop, Element, Fire, KeyState};

#[derive(Debug, Clone, Copy)]
pub(crate) struct CountSpec {
    pub size: u64,
    /// `every`; `None`: tumbling (purging) count window.
    pub slide: Option<u64>,
    /// Elements per pane: `gcd(size, slide)`, or `size`.
    pub pane: u64,
}

impl CountSpec {
    pub fn new(size: u64, slide: Option<u64>) -> CountSpec {
        let size = size.max(1);
        let slide = slide.map(|s| s.max(1));
        let pane = match slide {
            Some(s) => gcd(size as i64, s as i64) as u64,
            None => size,
        };
        CountSpec { size, slide, pane }
    }
}

/// A pane of count-window elements and their least and greatest time.
#[derive(Debug, Clone)]
struct CountPane {
    acc: Acc,
    min_ts: i64,
    max_ts: i64,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct CountKey {
    /// Panes of `pane` elements (the last one may be filling).
    panes: VecDeque<CountPane>,
    /// Elements since the last firing (`CountTrigger`'s count).
    since_fire: u64,
}

impl KeyState for CountKey {
    type Spec = CountSpec;

    fn add(
        &mut self,
        spec: &CountSpec,
        el: &Element<'_>,
        _time: i64,
        _lateness: i64,
        _cap: Option<usize>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Option<i64>, Drop> {
        CountKey::add(self, spec, el, ctx);
        Ok(None)
    }

    fn on_timer(&mut self, _spec: &CountSpec, _t: i64, _lateness: i64, _ctx: &mut Ctx<'_>) -> Option<i64> {
        (!self.panes.is_empty()).then_some(i64::MAX)
    }

    fn is_empty(&self) -> bool {
        self.panes.is_empty()
    }

    fn open_units(&self) -> usize {
        self.panes.len()
    }

    fn live_windows(&self, _spec: &CountSpec, _time: i64, _lateness: i64) -> usize {
        usize::from(!self.panes.is_empty())
    }

    fn heap_bytes(&self) -> usize {
        (self.panes.capacity() - self.panes.len()) * size_of::<CountPane>()
            + self
                .panes
                .iter()
                .map(|p| p.acc.bytes() + 2 * size_of::<i64>())
                .sum::<usize>()
    }
}

impl CountKey {
    pub fn add(&mut self, spec: &CountSpec, el: &Element<'_>, ctx: &mut Ctx<'_>) {
        let layout = &ctx.em.layout;
        let p = match self.panes.back_mut() {
            Some(p) if p.acc.n < spec.pane => p,
            _ => {
                self.panes.push_back(CountPane {
                    acc: layout.new_acc(),
                    min_ts: i64::MAX,
                    max_ts: i64::MIN,
                });
                self.panes.back_mut().expect("just pushed")
            }
        };
        layout.add(&mut p.acc, el.args, el.seq);
        p.min_ts = p.min_ts.min(el.ts);
        p.max_ts = p.max_ts.max(el.ts);
        self.since_fire += 1;
        match spec.slide {
            None => {
                if self.since_fire >= spec.size {
                    self.since_fire = 0;
                    if let Some(mut p) = self.panes.pop_front() {
                        let fire = bounds(p.min_ts, p.max_ts, el);
                        ctx.fire_one(&mut p.acc, fire);
                    }
                    self.panes.clear();
                }
            }
            Some(slide) => {
                if self.since_fire >= slide {
                    self.since_fire = 0;
                    // CountEvictor: keep the last `size` elements.
                    let keep = (spec.size / spec.pane) as usize;
                    while self.panes.len() > keep {
                        self.panes.pop_front();
                    }
                    if self.panes.len() == 1 {
                        let p = &mut self.panes[0];
                        let fire = bounds(p.min_ts, p.max_ts, el);
                        ctx.fire_one(&mut p.acc, fire);
                    } else {
                        let (min_ts, max_ts) = self
                            .panes
                            .iter()
                            .fold((i64::MAX, i64::MIN), |(a, b), p| (a.min(p.min_ts), b.max(p.max_ts)));
                        ctx.fire_many(self.panes.iter().map(|p| &p.acc), bounds(min_ts, max_ts, el));
                    }
                }
            }
        }
    }
}

fn bounds(min_ts: i64, max_ts: i64, el: &Element<'_>) -> Fire {
    Fire {
        start: min_ts,
        end: max_ts.saturating_add(1),
        event_time: max_ts,
        firing: 0,
        update: false,
        trigger: Some(el.position),
    }
}
