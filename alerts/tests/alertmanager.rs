//! The Alertmanager sink against a real Alertmanager (Debian's
//! prometheus-alertmanager), started here on a free port; its v2 API then
//! lists the alerts with their labels.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cepheus_alerts::{AlertOutput, Delivery, DeliveryConfig};
use common::*;

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn binary() -> Option<String> {
    let bin = std::env::var("ALERTMANAGER_BIN").unwrap_or_else(|_| "/usr/bin/prometheus-alertmanager".into());
    if std::path::Path::new(&bin).exists() {
        return Some(bin);
    }
    if std::env::var("CEPHEUS_SKIP_ALERTMANAGER").as_deref() == Ok("1") {
        eprintln!("SKIPPED: no Alertmanager at {bin} and CEPHEUS_SKIP_ALERTMANAGER=1");
        return None;
    }
    panic!("no Alertmanager at {bin}: apt-get install prometheus-alertmanager (or set CEPHEUS_SKIP_ALERTMANAGER=1 to skip)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_lists_the_alerts_with_labels() {
    let Some(bin) = binary() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("alertmanager.yml");
    std::fs::write(&cfg, "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n").unwrap();
    let port = free_port();
    let _am = Kill(
        Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start alertmanager"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("{base}/-/ready")).send().await {
            if r.status().is_success() {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "alertmanager did not become ready on {base}");

    let config: DeliveryConfig = toml::from_str(&format!(
        r#"
        default_sinks = ["am"]
        webhook_allowlist = ["127.0.0.1"]
        allowed_networks = ["127.0.0.1/32"]
        [sinks.am]
        kind = "alertmanager"
        url = "{base}"
        template = "{{message}} on card {{key.card}}"
        link_template = "https://cepheus.example.com/alerts/{{id}}"
        "#
    ))
    .unwrap();
    let reg = prometheus::Registry::new();
    let d = Delivery::open(config, dir.path(), &reg).unwrap();
    let now = cepheus_alerts::time::format_rfc3339_ms(cepheus_alerts::time::now_ms());
    let alerts: Vec<_> = (0..3)
        .map(|i| {
            let mut a = alert(i, "card_testing");
            a.event_time = now.clone();
            a
        })
        .collect();
    d.emit(&alerts).unwrap();
    assert!(wait_until(Duration::from_secs(15), || d.outbox_depth() == 0).await);
    assert_eq!(metric(&reg, "cepheus_alerts_delivered_total", &[("sink", "am"), ("outcome", "success")]), 3.0);

    let listed: serde_json::Value = http.get(format!("{base}/api/v2/alerts")).send().await.unwrap().json().await.unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3, "{listed:?}");
    let mut cards: Vec<String> = listed
        .iter()
        .map(|a| {
            let l = &a["labels"];
            assert_eq!(l["alertname"], "card_testing");
            assert_eq!(l["severity"], "high");
            assert_eq!(l["team"], "fraud");
            assert!(a["annotations"]["summary"].as_str().unwrap().starts_with("card_testing fired on card c"));
            assert!(a["annotations"]["alert_id"].as_str().unwrap().starts_with("card_testing-"));
            assert!(a["generatorURL"].as_str().unwrap().starts_with("https://cepheus.example.com/alerts/"));
            l["card"].as_str().unwrap().to_string()
        })
        .collect();
    cards.sort();
    assert_eq!(cards, ["c0", "c1", "c2"]);
    d.shutdown().await;
}
