//! The worker threads that step partition tasks, and the housekeeping
//! thread that refreshes gauges.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::{wall_ms, Shared, Slot};

/// Records per task per step: large enough to amortise locking, small
/// enough that rule swaps and checkpoints wait little.
const BATCH: usize = 1024;
/// Longest sleep of an idle worker: processing-time windows, periodic
/// checkpoints and idleness are checked at least this often.
const IDLE_WAIT: Duration = Duration::from_millis(20);
/// A rule stays flagged throttled this long after it hit a limit.
pub const THROTTLE_HOLD: Duration = Duration::from_secs(60);

pub(super) fn run_worker(shared: &Arc<Shared>, index: usize) {
    let mut mine: Vec<Arc<Slot>> = Vec::new();
    while !shared.stop.load(Ordering::SeqCst) {
        let seen = shared.wake.current();
        mine.clear();
        mine.extend(
            shared
                .slots
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .filter(|s| s.worker == index)
                .cloned(),
        );
        let mut busy = false;
        for slot in &mine {
            if slot.removed.load(Ordering::SeqCst) {
                continue;
            }
            let mut task = slot.task.lock().unwrap_or_else(|e| e.into_inner());
            if slot.removed.load(Ordering::SeqCst) {
                continue;
            }
            busy |= task.step(BATCH);
        }
        if !busy {
            shared.wake.wait(seen, IDLE_WAIT);
        }
    }
}

pub(super) fn run_housekeeping(shared: &Arc<Shared>) {
    let mut last = std::time::Instant::now() - Duration::from_secs(10);
    while !shared.stop.load(Ordering::SeqCst) {
        let seen = shared.wake.current();
        if last.elapsed() >= Duration::from_secs(1) {
            refresh_gauges(shared);
            last = std::time::Instant::now();
        }
        shared.wake.wait(seen, Duration::from_millis(200));
    }
}

fn refresh_gauges(shared: &Shared) {
    let m = &shared.ctx.metrics;
    let now = wall_ms();
    let mut lag: BTreeMap<String, u64> = BTreeMap::new();
    let mut low_wm: BTreeMap<String, i64> = BTreeMap::new();
    let mut partial: BTreeMap<String, u64> = BTreeMap::new();
    let mut windows: BTreeMap<String, u64> = BTreeMap::new();
    let mut throttled: BTreeMap<String, bool> = BTreeMap::new();
    let mut state_bytes = 0u64;
    for slot in shared.slots() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let task = slot.task.lock().unwrap_or_else(|e| e.into_inner());
        *lag.entry(slot.stream.clone()).or_default() += task.lag();
        let wm = task.watermark();
        if wm != i64::MIN {
            let e = low_wm.entry(slot.stream.clone()).or_insert(i64::MAX);
            *e = (*e).min(wm);
        }
        if let Some(cp) = task.last_checkpoint() {
            state_bytes += cp.bytes as u64;
        }
        for op in &task.ops {
            *partial.entry(op.id.clone()).or_default() += op.op.partial_matches() as u64;
            *windows.entry(op.id.clone()).or_default() += op.op.open_windows() as u64;
            let t = throttled.entry(op.id.clone()).or_default();
            *t |= op.throttled_at.is_some_and(|t| t.elapsed() < THROTTLE_HOLD);
        }
    }
    for (stream, l) in lag {
        m.consumer_lag.with_label_values(&[&stream]).set(l as i64);
    }
    for (stream, wm) in low_wm {
        m.watermark_lag
            .with_label_values(&[&stream])
            .set(((now - wm).max(0) as f64) / 1000.0);
    }
    for (rule, n) in partial {
        m.partial_matches.with_label_values(&[&rule]).set(n as i64);
    }
    for (rule, n) in windows {
        m.open_windows.with_label_values(&[&rule]).set(n as i64);
    }
    for (rule, t) in throttled {
        m.rule_throttled.with_label_values(&[&rule]).set(i64::from(t));
    }
    m.state_bytes.set(state_bytes as i64);
}
