//! Outage: the webhook receiver is down for 30 s (connection refused, then
//! 500s, then slow) while 10,000 alerts are produced. Afterwards every id has
//! arrived exactly once, and the metrics show the retries.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cepheus_alerts::{AlertOutput, Delivery};
use common::*;

const S1: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const N: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_second_outage_loses_and_repeats_nothing() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let reg = prometheus::Registry::new();
    let mut cfg = webhook_config(&format!("http://127.0.0.1:{port}/hook"), &[S1], "");
    cfg.retry.max_attempts = 200;
    let d = Delivery::open(cfg, dir.path(), &reg).unwrap();
    let t0 = Instant::now();

    // Produce 10,000 alerts over the first 20 s, 100 every 200 ms.
    let producer = {
        let d = d.clone();
        tokio::spawn(async move {
            for b in 0..N / 100 {
                let batch: Vec<_> = (b * 100..(b + 1) * 100).map(|i| alert(i, "outage")).collect();
                d.emit(&batch).unwrap();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    // 0-10 s: nothing listens (connection refused).
    tokio::time::sleep(Duration::from_secs(10)).await;
    let state = Arc::new(RxState { keys: vec![cepheus_alerts::sink::webhook::secret_key(&cepheus_alerts::Secret::new(S1)).unwrap()], ..Default::default() });
    // 10-20 s: 500s.
    state.mode.store(FAIL_500, Ordering::SeqCst);
    let rx = Receiver::start_with(port, state.clone()).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let refused_and_500 = metric(&reg, "cepheus_alerts_delivered_total", &[("outcome", "retry")]);
    // 20-30 s: slow (2 s per request; the sink's timeout is 3 s).
    state.slow_ms.store(2000, Ordering::SeqCst);
    state.mode.store(SLOW, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(10)).await;
    producer.await.unwrap();
    let during_outage = state.distinct();
    state.mode.store(OK, Ordering::SeqCst);
    let back = Instant::now();
    let done = wait_until(Duration::from_secs(25), || state.distinct() == N).await;
    let drain = back.elapsed();
    assert!(done, "only {} of {N} arrived", state.distinct());
    assert!(wait_until(Duration::from_secs(5), || d.outbox_depth() == 0).await);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let retries = metric(&reg, "cepheus_alerts_delivered_total", &[("outcome", "retry")]);
    eprintln!(
        "outage: {N} alerts; {during_outage} accepted while slow; drained the rest in {:.2} s ({:.0} alerts/s); \
         {retries} retries ({refused_and_500} while refused or 500); {} requests; total {:.1} s",
        drain.as_secs_f64(),
        (N - during_outage) as f64 / drain.as_secs_f64(),
        state.requests.load(Ordering::SeqCst),
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(state.duplicates(), 0, "duplicates at the receiver");
    assert_eq!(state.bad_signatures.load(Ordering::SeqCst), 0);
    assert!(refused_and_500 > 0.0, "retries while the receiver was down");
    assert_eq!(metric(&reg, "cepheus_alerts_delivered_total", &[("outcome", "success")]), N as f64);
    assert_eq!(metric(&reg, "cepheus_alerts_dead_letter_total", &[]), 0.0);
    assert!(d.dead_letters().unwrap().is_empty());
    assert_eq!(metric(&reg, "cepheus_outbox_depth", &[]), 0.0);
    d.shutdown().await;
    drop(rx);
}
