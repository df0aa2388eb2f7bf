//! What the benchmark binaries (`pattern_bench`, `window_bench`) measure
//! besides time: live heap bytes and their peak (a counting global
//! allocator), peak RSS, a thread's on-CPU time, and latency percentiles.
//!
//! A binary installs the allocator with
//! `#[global_allocator] static GLOBAL: CountingAlloc = CountingAlloc;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

// ---------------------------------------------------------------- memory

/// Counts live heap bytes and their peak: Cepheus' memory is what its
/// allocations hold, measured exactly rather than sampled.
pub struct CountingAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[inline]
fn grew(n: usize) {
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    if now > PEAK.load(Ordering::Relaxed) {
        PEAK.store(now, Ordering::Relaxed);
    }
}

#[inline]
fn shrank(n: usize) {
    LIVE.fetch_sub(n, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        shrank(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size > layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }
}

pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Restarts peak tracking from the current live size.
pub fn reset_peak() {
    PEAK.store(live_bytes(), Ordering::Relaxed);
}

pub fn peak_bytes() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Peak resident set size of this process (`VmHWM`), if the system says.
pub fn rss_peak_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Nanoseconds this thread has run on a CPU (`/proc/thread-self/schedstat`).
pub fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Resets `VmHWM` to the current RSS (Linux `clear_refs` 5); false if not allowed.
pub fn reset_rss_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

// ---------------------------------------------------------------- latency

/// Log-linear histogram of nanoseconds (16 sub-buckets per power of two,
/// about 6% resolution); fixed size, so recording allocates nothing.
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

const SUB: u32 = 16;

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; (64 * SUB) as usize],
            total: 0,
        }
    }

    fn bucket(ns: u64) -> usize {
        if ns < SUB as u64 {
            return ns as usize;
        }
        let exp = 63 - ns.leading_zeros(); // >= 4
        let sub = (ns >> (exp - 4)) & (SUB as u64 - 1);
        ((exp - 3) * SUB) as usize + sub as usize
    }

    /// Upper bound of a bucket's values.
    fn bucket_high(i: usize) -> u64 {
        if i < SUB as usize {
            return i as u64;
        }
        let exp = (i as u32 / SUB) + 3;
        let sub = (i as u32 % SUB) as u64;
        ((SUB as u64 + sub + 1) << (exp - 4)) - 1
    }

    pub fn record(&mut self, ns: u64) {
        self.record_n(ns, 1);
    }

    /// Records `n` values of `ns` at once (a batch that waited together).
    pub fn record_n(&mut self, ns: u64, n: u64) {
        self.counts[Self::bucket(ns)] += n;
        self.total += n;
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn percentile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let want = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return Some(Self::bucket_high(i));
            }
        }
        None
    }
}

