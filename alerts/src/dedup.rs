//! Delivered ids: per sink, the ids acknowledged within `dedup_ttl_ms`, so a
//! re-emitted (replayed after a crash) or replayed dead letter is not sent
//! twice. Stored in the outbox's `delivered` column family as
//! `sink \0 id -> delivered_at_ms`.

/// Whether a delivery recorded at `delivered_ms` still counts at `now_ms`.
pub fn fresh(delivered_ms: i64, now_ms: i64, ttl_ms: i64) -> bool {
    now_ms.saturating_sub(delivered_ms) < ttl_ms
}

pub fn key(sink: &str, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(sink.len() + 1 + id.len());
    k.extend_from_slice(sink.as_bytes());
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k
}

#[cfg(test)]
mod tests {
    #[test]
    fn ttl() {
        assert!(super::fresh(1000, 1500, 1000));
        assert!(!super::fresh(1000, 2000, 1000));
        assert_ne!(super::key("a", "bc"), super::key("ab", "c"));
    }
}
