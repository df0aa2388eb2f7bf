//! Window assignment: which windows an element's timestamp belongs to, as
//! Flink's assigners compute it.
//!
//! * `TimeWindow.getWindowStartWithOffset(ts, 0, size)`: windows are aligned
//!   to the epoch (offset 0), `ts - ((ts - offset) % size)` with the negative
//!   remainder case folded in, i.e. the floor of `ts` to a multiple of `size`.
//! * `TumblingEventTimeWindows`: one window `[start, start + size)`.
//! * `SlidingEventTimeWindows`: `lastStart = start(ts, slide)`, then every
//!   `start = lastStart, lastStart - slide, ...` while `start > ts - size`;
//!   windows are `[start, start + size)`. The size need not be a multiple of
//!   the slide.
//! * `TimeWindow.maxTimestamp() = end - 1`: the window fires when the
//!   watermark reaches it, and is late (dropped) once
//!   `maxTimestamp + allowedLateness <= watermark`.
//!
//! Sliding windows are kept as *panes* of `gcd(size, slide)`: every window
//! boundary is a multiple of the pane, so each pane lies wholly inside or
//! wholly outside any window, and a window is the union of its
//! `size / pane` panes. Tumbling windows are the case `slide = size` (one pane
//! per window).
//!
//! The arithmetic that can meet `i64::MIN`/`i64::MAX` (the initial and the
//! final watermark) is done in `i128` and clamped, so it never overflows.

/// Floor of `ts` to a multiple of `size` (Flink's `getWindowStartWithOffset`
/// with offset 0). `size > 0`.
#[inline]
pub fn window_start(ts: i64, size: i64) -> i64 {
    debug_assert!(size > 0);
    ts.wrapping_sub(ts.rem_euclid(size))
}

/// `max_timestamp + lateness`, saturating at `i64::MAX` like Flink's
/// `cleanupTime` (an overflow means "never": `Long.MAX_VALUE`).
#[inline]
pub fn cleanup_time(max_timestamp: i64, lateness: i64) -> i64 {
    max_timestamp.saturating_add(lateness)
}

fn clamp(x: i128) -> i64 {
    x.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

fn floor_to(x: i128, m: i128) -> i128 {
    x - x.rem_euclid(m)
}

/// Times this far from the ends of `i64` take the plain `i64` path (sizes
/// are checked to be below it too); beyond, `i128` arithmetic and clamping.
const SAFE: i64 = 1 << 61;

#[inline]
fn safe(x: i64) -> bool {
    (-SAFE..SAFE).contains(&x)
}

/// The geometry of epoch-aligned tumbling or sliding windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aligned {
    pub size: i64,
    pub slide: i64,
    /// `gcd(size, slide)`: the pane (slice) length.
    pub pane: i64,
}

impl Aligned {
    pub fn tumbling(size: i64) -> Aligned {
        Aligned::sliding(size, size)
    }

    pub fn sliding(size: i64, slide: i64) -> Aligned {
        assert!(size > 0 && slide > 0, "window size and slide must be positive");
        Aligned {
            size,
            slide,
            pane: gcd(size, slide),
        }
    }

    /// Panes per window.
    pub fn panes_per_window(&self) -> i64 {
        self.size / self.pane
    }

    /// Start of the pane holding `ts`.
    #[inline]
    pub fn pane_start(&self, ts: i64) -> i64 {
        window_start(ts, self.pane)
    }

    /// Start of the latest window holding `ts` (Flink's `lastStart`).
    #[inline]
    pub fn last_start(&self, ts: i64) -> i64 {
        window_start(ts, self.slide)
    }

    /// End of the latest window holding `ts`.
    #[inline]
    pub fn last_end(&self, ts: i64) -> i64 {
        self.last_start(ts).saturating_add(self.size)
    }

    /// Whether `end` is the end of a window.
    #[inline]
    pub fn is_end(&self, end: i64) -> bool {
        if safe(end) && self.size < SAFE {
            return (end - self.size).rem_euclid(self.slide) == 0;
        }
        (i128::from(end) - i128::from(self.size)).rem_euclid(i128::from(self.slide)) == 0
    }

    /// End of the earliest window holding `ts`: the smallest aligned start
    /// greater than `ts - size`, plus `size`.
    #[inline]
    pub fn first_end(&self, ts: i64) -> i64 {
        if safe(ts) && self.size < SAFE {
            let s = window_start(ts - self.size, self.slide) + self.slide;
            return s + self.size;
        }
        let (size, slide) = (i128::from(self.size), i128::from(self.slide));
        let s = floor_to(i128::from(ts) - size, slide) + slide;
        clamp(s + size)
    }

    /// The smallest window end that is `>= x`.
    #[inline]
    pub fn end_at_or_after(&self, x: i64) -> i64 {
        if safe(x) && self.size < SAFE {
            let y = x - self.size;
            let r = y.rem_euclid(self.slide);
            return if r == 0 { x } else { y - r + self.slide + self.size };
        }
        let (size, slide) = (i128::from(self.size), i128::from(self.slide));
        // ends are k * slide + size
        let y = i128::from(x) - size;
        let s = -floor_to(-y, slide); // ceil to a multiple of slide
        clamp(s + size)
    }

    /// `(pane_start(ts), first_end(ts), last_end(ts))`, with one division
    /// when the slide divides the size (tumbling windows, `sliding 5m every
    /// 1s`: the pane is the slide, the latest window starts at the pane).
    #[inline]
    pub fn bounds(&self, ts: i64) -> (i64, i64, i64) {
        if self.pane == self.slide && self.size % self.slide == 0 && safe(ts) && self.size < SAFE {
            let s = window_start(ts, self.slide);
            // the earliest window holding ts starts size - slide before s
            return (s, s + self.slide, s + self.size);
        }
        (self.pane_start(ts), self.first_end(ts), self.last_end(ts))
    }

    /// The windows holding `ts`, as Flink's `SlidingEventTimeWindows`
    /// lists them: by decreasing start.
    pub fn windows_of(&self, ts: i64) -> impl Iterator<Item = (i64, i64)> {
        let size = self.size;
        let slide = self.slide;
        let last = self.last_start(ts);
        let lowest = i128::from(ts) - i128::from(size);
        let mut start = Some(last);
        std::iter::from_fn(move || {
            let s = start?;
            if i128::from(s) <= lowest {
                start = None;
                return None;
            }
            start = s.checked_sub(slide);
            Some((s, clamp(i128::from(s) + i128::from(size))))
        })
    }
}

pub fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Flink's `TimeWindow.getWindowStartWithOffset`, transcribed.
    fn flink_start(timestamp: i64, offset: i64, window_size: i64) -> i64 {
        let remainder = (timestamp - offset) % window_size;
        if remainder < 0 {
            timestamp - (remainder + window_size)
        } else {
            timestamp - remainder
        }
    }

    /// Flink's `SlidingEventTimeWindows.assignWindows`, transcribed.
    fn flink_sliding(ts: i64, size: i64, slide: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let last_start = flink_start(ts, 0, slide);
        let mut start = last_start;
        while start > ts - size {
            out.push((start, start + size));
            start -= slide;
        }
        out
    }

    #[test]
    fn start_matches_flink_including_negative_timestamps() {
        for size in [1, 2, 3, 7, 10, 60_000] {
            for ts in -50..50 {
                assert_eq!(window_start(ts, size), flink_start(ts, 0, size), "ts {ts} size {size}");
            }
        }
    }

    #[test]
    fn sliding_matches_flink() {
        for (size, slide) in [(10, 10), (10, 5), (10, 3), (5, 2), (300, 1), (7, 7), (6, 4)] {
            let a = Aligned::sliding(size, slide);
            for ts in -40..40 {
                let ours: Vec<_> = a.windows_of(ts).collect();
                assert_eq!(ours, flink_sliding(ts, size, slide), "ts {ts} size {size} slide {slide}");
                assert_eq!(ours.last().map(|w| w.1), Some(a.first_end(ts)));
                assert_eq!(ours.first().map(|w| w.1), Some(a.last_end(ts)));
                // every window boundary is a pane boundary
                for (s, e) in ours {
                    assert_eq!(s % a.pane, 0);
                    assert_eq!(e % a.pane, 0);
                }
            }
        }
    }

    #[test]
    fn fast_and_wide_paths_agree() {
        for (size, slide) in [(10, 4), (10, 10), (7, 3), (300_000, 1_000)] {
            let a = Aligned::sliding(size, slide);
            for x in [-1_000_003, -17, -1, 0, 1, 9, 10, 11, 12_345, 1_700_000_000_123] {
                let wide_first = {
                    let s = floor_to(i128::from(x) - i128::from(size), i128::from(slide)) + i128::from(slide);
                    clamp(s + i128::from(size))
                };
                assert_eq!(a.first_end(x), wide_first);
                let wide_next = {
                    let y = i128::from(x) - i128::from(size);
                    clamp(-floor_to(-y, i128::from(slide)) + i128::from(size))
                };
                assert_eq!(a.end_at_or_after(x), wide_next, "{x} {size} {slide}");
                assert_eq!(a.is_end(x), (i128::from(x) - i128::from(size)).rem_euclid(i128::from(slide)) == 0);
            }
        }
    }

    #[test]
    fn bounds_equal_the_separate_computations() {
        for (size, slide) in [(10, 10), (10, 5), (10, 4), (12, 3), (300_000, 1_000), (60_000, 60_000), (7, 3)] {
            let a = Aligned::sliding(size, slide);
            for ts in [-1_000_003, -17, -1, 0, 1, 9, 10, 11, 12_345, 1_700_000_000_123, i64::MAX - 3, i64::MIN + 3] {
                assert_eq!(a.bounds(ts), (a.pane_start(ts), a.first_end(ts), a.last_end(ts)), "{ts} {size} {slide}");
            }
        }
    }

    #[test]
    fn end_at_or_after() {
        let a = Aligned::sliding(10, 4); // ends: 10 + 4k: ..., 2, 6, 10, 14
        assert_eq!(a.end_at_or_after(6), 6);
        assert_eq!(a.end_at_or_after(7), 10);
        assert_eq!(a.end_at_or_after(-1), 2);
        assert_eq!(a.end_at_or_after(i64::MAX), i64::MAX);
        assert!(a.end_at_or_after(i64::MIN) <= i64::MIN + 4);
        assert!(a.first_end(i64::MIN + 1) <= i64::MIN + 8);
        assert_eq!(a.last_end(i64::MAX), i64::MAX);
    }

    #[test]
    fn gcd_panes() {
        assert_eq!(Aligned::sliding(300_000, 1_000).pane, 1_000);
        assert_eq!(Aligned::sliding(5, 2).pane, 1);
        assert_eq!(Aligned::tumbling(60_000).pane, 60_000);
    }
}
