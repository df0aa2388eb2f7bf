//! Tumbling and sliding windows of one key, kept as panes.
//!
//! A key's state is its non-empty panes (slices of `gcd(size, slide)`), in
//! time order, each with one accumulator: an event updates exactly one pane.
//! A window `[end - size, end)` is the union of its panes; it exists (as in
//! Flink, where a window has state only once an element was assigned to it)
//! when one of its panes is non-empty, and its result is computed at fire
//! time by merging those panes.
//!
//! This gives exactly the contents of Flink's per-window state at every
//! firing: a window is alive from the start until the watermark reaches its
//! cleanup time (`end - 1 + lateness`), so every element in its panes when it
//! fires arrived while it was alive, i.e. was also added to Flink's window;
//! and an element that arrives after a window died only reaches panes of that
//! window, which never fires again.
//!
//! Firing, as Flink's `WindowOperator` with `EventTimeTrigger`:
//! * on time: when the watermark reaches `end - 1`, every window with data
//!   fires once (the key's timer is at its earliest pending window end - 1);
//! * late, within `allow lateness`: an element whose window is already past
//!   `end - 1` but not past `end - 1 + lateness` re-fires that window at once
//!   (an update), for each such window it belongs to, in Flink's order
//!   (decreasing start);
//! * too late: an element all of whose windows are past their cleanup time
//!   is dropped and counted.
//! * cleanup: a pane is dropped once the last window holding it is past its
//!   cleanup time.

use std::mem::size_of;

use smallvec::{Array, SmallVec};

use super::accumulate::{Acc, Layout};
use super::assign::{cleanup_time, Aligned};
use super::operator::{Ctx, Drop, Element, Fire, KeyState};

/// A pane (slice) of windows with its accumulator.
#[derive(Debug, Clone)]
pub(crate) struct Pane {
    start: i64,
    acc: Acc,
}

/// Tumbling windows: one pane per window, usually one open per key.
pub(crate) type TumblingKey = AlignedKey<[Pane; 1]>;

/// Sliding windows: a sparse key has a few panes, kept inline with the key
/// (a firing then reads no other memory); a dense key spills to the heap.
pub(crate) type SlidingKey = AlignedKey<[Pane; 3]>;

/// Panes by start. The usual single pane of a key (tumbling windows, sparse
/// keys) is inline; panes leaving at the front are replaced by placeholders
/// and removed in batches, so dropping the oldest pane is O(1) amortised
/// also for keys with hundreds of panes.
#[derive(Debug, Clone)]
struct PaneBuf<A: Array<Item = Pane>> {
    buf: SmallVec<A>,
    /// `buf[..head]` are removed panes.
    head: usize,
}

impl<A: Array<Item = Pane>> PaneBuf<A> {
    #[inline]
    fn live(&self) -> &[Pane] {
        &self.buf[self.head..]
    }

    #[inline]
    fn live_mut(&mut self) -> &mut [Pane] {
        &mut self.buf[self.head..]
    }

    fn insert(&mut self, at: usize, p: Pane) {
        self.buf.insert(self.head + at, p);
    }

    fn pop_front(&mut self) {
        if self.head >= self.buf.len() {
            return;
        }
        self.buf[self.head] = Pane {
            start: i64::MIN,
            acc: Acc::placeholder(),
        };
        self.head += 1;
        if self.head == self.buf.len() {
            self.buf.clear();
            self.head = 0;
        } else if self.head >= 8 && self.head * 2 >= self.buf.len() {
            self.buf.drain(..self.head);
            self.head = 0;
        }
    }

    fn heap_bytes(&self) -> usize {
        let mut b = 0;
        if self.buf.spilled() {
            b += self.buf.capacity() * size_of::<Pane>();
        }
        for p in self.live() {
            b += p.acc.bytes() - size_of::<Acc>();
        }
        b
    }
}

/// One key's tumbling or sliding windows.
#[derive(Debug, Clone)]
pub(crate) struct AlignedKey<A: Array<Item = Pane>> {
    /// Non-empty panes by start.
    panes: PaneBuf<A>,
    /// Windows that fired and are still alive (only with allowed lateness):
    /// (end, times fired), by end. A late element's re-firing is an update
    /// and has the next firing number. Boxed: 8 bytes in every key's slot
    /// instead of a 24-byte `Vec`, for state that only lateness creates.
    #[allow(clippy::box_collection)]
    fired: Option<Box<Vec<(i64, u32)>>>,
}

impl<A: Array<Item = Pane>> Default for AlignedKey<A> {
    fn default() -> Self {
        AlignedKey {
            panes: PaneBuf {
                buf: SmallVec::new(),
                head: 0,
            },
            fired: None,
        }
    }
}

/// Counts a firing of the window ending at `end`; returns how many times it
/// fired before.
#[allow(clippy::box_collection)]
fn count_firing(fired: &mut Option<Box<Vec<(i64, u32)>>>, end: i64) -> u32 {
    let f = fired.get_or_insert_with(Default::default);
    match f.binary_search_by_key(&end, |x| x.0) {
        Ok(j) => {
            f[j].1 += 1;
            f[j].1 - 1
        }
        Err(j) => {
            f.insert(j, (end, 1));
            0
        }
    }
}

impl<A: Array<Item = Pane>> KeyState for AlignedKey<A> {
    type Spec = Aligned;

    fn too_late(g: &Aligned, ts: i64, time: i64, lateness: i64) -> bool {
        AlignedKey::<A>::too_late(g, ts, time, lateness)
    }

    fn add(
        &mut self,
        g: &Aligned,
        el: &Element<'_>,
        time: i64,
        lateness: i64,
        cap: Option<usize>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Option<i64>, Drop> {
        AlignedKey::add(self, g, el, time, lateness, cap, ctx).map(Some)
    }

    fn on_timer(&mut self, g: &Aligned, t: i64, lateness: i64, ctx: &mut Ctx<'_>) -> Option<i64> {
        AlignedKey::on_timer(self, g, t, lateness, ctx)
    }

    fn is_empty(&self) -> bool {
        self.panes.live().is_empty()
    }

    fn open_units(&self) -> usize {
        self.panes.live().len()
    }

    fn live_windows(&self, g: &Aligned, time: i64, lateness: i64) -> usize {
        AlignedKey::live_windows(self, g, time, lateness)
    }

    fn heap_bytes(&self) -> usize {
        AlignedKey::heap_bytes(self)
    }
}

impl<A: Array<Item = Pane>> AlignedKey<A> {
    /// Heap bytes held (the struct itself not counted).
    pub fn heap_bytes(&self) -> usize {
        self.panes.heap_bytes()
            + self
                .fired
                .as_ref()
                .map_or(0, |f| size_of::<Vec<(i64, u32)>>() + f.capacity() * size_of::<(i64, u32)>())
    }

    /// Windows (of this key) with state: alive and holding a non-empty pane.
    pub fn live_windows(&self, g: &Aligned, time: i64, lateness: i64) -> usize {
        // alive: end - 1 + lateness > time
        let min_alive = g.end_at_or_after((i128::from(time) - i128::from(lateness) + 2).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64);
        let mut count = 0i128;
        let mut next = min_alive;
        for p in self.panes.live() {
            let lo = g.first_end(p.start).max(next);
            let hi = g.last_end(p.start);
            if lo <= hi {
                count += (i128::from(hi) - i128::from(lo)) / i128::from(g.slide) + 1;
                next = hi.saturating_add(g.slide);
            }
        }
        count as usize
    }

    /// Whether an element at `ts` is too late for all its windows.
    #[inline]
    pub fn too_late(g: &Aligned, ts: i64, time: i64, lateness: i64) -> bool {
        // Not behind the watermark: its latest window ends after it.
        ts <= time && cleanup_time(g.last_end(ts).saturating_sub(1), lateness) <= time
    }

    /// Adds an element not [`AlignedKey::too_late`]; fires the windows it
    /// makes late-update. Returns the timer the key needs for it.
    pub fn add(
        &mut self,
        g: &Aligned,
        el: &Element<'_>,
        time: i64,
        lateness: i64,
        cap: Option<usize>,
        ctx: &mut Ctx<'_>,
    ) -> Result<i64, Drop> {
        let (ps, first_end, last_end) = g.bounds(el.ts);
        let layout: &Layout = &ctx.em.layout;
        let live = self.panes.live();
        let i = match live.last() {
            Some(p) if p.start == ps => live.len() - 1,
            Some(p) if p.start < ps => self.new_pane(live.len(), ps, layout, cap)?,
            None => self.new_pane(0, ps, layout, cap)?,
            Some(_) => {
                let at = live.partition_point(|p| p.start < ps);
                if live.get(at).is_some_and(|p| p.start == ps) {
                    at
                } else {
                    self.new_pane(at, ps, layout, cap)?
                }
            }
        };
        layout.add(&mut self.panes.live_mut()[i].acc, el.args, el.seq);

        if first_end.saturating_sub(1) <= time {
            // Some of its windows are already past their end: those still
            // alive fire again now, newest start first (Flink's order).
            for (start, end) in g.windows_of(el.ts) {
                if end.saturating_sub(1) > time {
                    continue;
                }
                if cleanup_time(end.saturating_sub(1), lateness) <= time {
                    break;
                }
                let fired = count_firing(&mut self.fired, end);
                self.fire(start, end, fired, ctx);
            }
        }
        // Its earliest window still to fire on time, else its cleanup. (When
        // `first_end - 1 > time`, `first_end` is that window: no window end
        // lies in `[time + 2, first_end)` that holds the element.)
        let pending = if first_end.saturating_sub(1) > time {
            first_end
        } else {
            g.end_at_or_after(time.saturating_add(2)).max(first_end)
        };
        Ok(if pending <= last_end && pending.saturating_sub(1) > time {
            pending - 1
        } else {
            cleanup_time(last_end.saturating_sub(1), lateness)
        })
    }

    fn new_pane(&mut self, at: usize, start: i64, layout: &Layout, cap: Option<usize>) -> Result<usize, Drop> {
        if cap.is_some_and(|c| self.panes.live().len() >= c) {
            return Err(Drop::WindowLimit);
        }
        self.panes.insert(
            at,
            Pane {
                start,
                acc: layout.new_acc(),
            },
        );
        Ok(at)
    }

    /// Fires window `[start, end)` (it has data).
    fn fire(&mut self, start: i64, end: i64, fired_before: u32, ctx: &mut Ctx<'_>) {
        let live = self.panes.live_mut();
        let lo = live.partition_point(|p| p.start < start);
        let hi = live.partition_point(|p| p.start < end);
        let fire = Fire {
            start,
            end,
            event_time: end.saturating_sub(1),
            firing: u64::from(fired_before),
            update: fired_before > 0,
            trigger: None,
        };
        if hi == lo + 1 {
            ctx.fire_one(&mut live[lo].acc, fire);
        } else {
            ctx.fire_many(live[lo..hi].iter().map(|p| &p.acc), fire);
        }
    }

    fn has_data(&self, start: i64, end: i64) -> bool {
        let live = self.panes.live();
        let lo = live.partition_point(|p| p.start < start);
        live.get(lo).is_some_and(|p| p.start < end)
    }

    /// The first window end `>= from` whose window has data.
    fn next_window_end(&self, g: &Aligned, from: i64) -> Option<i64> {
        let live = self.panes.live();
        let lo = live.partition_point(|p| i128::from(p.start) < i128::from(from) - i128::from(g.size));
        let p = live.get(lo)?;
        Some(from.max(g.first_end(p.start)))
    }

    /// The key's timer at `t` (`<=` the watermark): fires the window ending
    /// at `t + 1` if it has data, drops what died, and returns the next timer
    /// (`None`: the key has no state left).
    pub fn on_timer(&mut self, g: &Aligned, t: i64, lateness: i64, ctx: &mut Ctx<'_>) -> Option<i64> {
        if let Some(end) = t.checked_add(1) {
            if g.is_end(end) {
                let start = end.saturating_sub(g.size);
                if self.has_data(start, end) {
                    self.fire(start, end, 0, ctx);
                    if cleanup_time(t, lateness) > t {
                        count_firing(&mut self.fired, end);
                    }
                }
            }
        }
        while self
            .panes
            .live()
            .first()
            .is_some_and(|p| cleanup_time(g.last_end(p.start).saturating_sub(1), lateness) <= t)
        {
            self.panes.pop_front();
        }
        if let Some(f) = &mut self.fired {
            f.retain(|&(end, _)| cleanup_time(end.saturating_sub(1), lateness) > t);
            if f.is_empty() {
                self.fired = None;
            }
        }
        if self.panes.live().is_empty() {
            self.fired = None;
            return None;
        }
        let mut next = i64::MAX;
        if t < i64::MAX - 1 {
            if let Some(end) = self.next_window_end(g, g.end_at_or_after(t + 2)) {
                if end.saturating_sub(1) > t {
                    next = next.min(end - 1);
                }
            }
        }
        if let Some(p) = self.panes.live().first() {
            next = next.min(cleanup_time(g.last_end(p.start).saturating_sub(1), lateness));
        }
        if let Some(&(end, _)) = self.fired.as_ref().and_then(|f| f.first()) {
            next = next.min(cleanup_time(end.saturating_sub(1), lateness));
        }
        Some(next)
    }
}
