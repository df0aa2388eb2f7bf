//! The email sink against a real SMTP server (Python's aiosmtpd), started by
//! the test on a free port; it writes every mail it receives to a folder.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cepheus_alerts::{AlertOutput, Delivery, DeliveryConfig};
use common::*;

const SERVER: &str = r#"
import os, sys, time
from aiosmtpd.controller import Controller
out = sys.argv[2]
class Save:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Save.n += 1
        path = os.path.join(out, "%05d.eml" % Save.n)
        with open(path + ".tmp", "wb") as f:
            f.write(envelope.content)
        os.rename(path + ".tmp", path)
        return "250 OK"
c = Controller(Save(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("READY", flush=True)
while True:
    time.sleep(3600)
"#;

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_smtp(port: u16, out: &std::path::Path) -> Option<Kill> {
    let ok = Command::new("python3").args(["-c", "import aiosmtpd"]).status().map(|s| s.success()).unwrap_or(false);
    if !ok {
        if std::env::var("CEPHEUS_SKIP_SMTP").as_deref() == Ok("1") {
            eprintln!("SKIPPED: python3 with aiosmtpd is missing and CEPHEUS_SKIP_SMTP=1");
            return None;
        }
        panic!("python3 with aiosmtpd is needed: pip install aiosmtpd (or set CEPHEUS_SKIP_SMTP=1 to skip)");
    }
    let mut child = Command::new("python3")
        .args(["-c", SERVER, &port.to_string(), &out.display().to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start aiosmtpd");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "READY");
    Some(Kill(child))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_server_receives_the_mails() {
    let dir = tempfile::tempdir().unwrap();
    let mails = dir.path().join("mails");
    std::fs::create_dir(&mails).unwrap();
    let port = free_port();
    let Some(_smtp) = start_smtp(port, &mails) else { return };
    let config: DeliveryConfig = toml::from_str(&format!(
        r#"
        default_sinks = ["mail"]
        [sinks.mail]
        kind = "email"
        host = "127.0.0.1"
        port = {port}
        tls = "none"
        from = "Cepheus <cepheus@example.com>"
        to = ["oncall@example.com", "fraud@example.com"]
        subject_template = "[{{severity}}] {{rule}} card {{key.card}}"
        "#
    ))
    .unwrap();
    let reg = prometheus::Registry::new();
    let d = Delivery::open(config, dir.path(), &reg).unwrap();
    d.emit(&(0..3).map(|i| alert(i, "card_testing")).collect::<Vec<_>>()).unwrap();
    let count = || std::fs::read_dir(&mails).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "eml")).count();
    assert!(wait_until(Duration::from_secs(20), || count() == 3).await, "{} mails", count());
    let mut all = String::new();
    for e in std::fs::read_dir(&mails).unwrap() {
        all.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    for i in 0..3 {
        assert!(all.contains(&format!("Subject: [high] card_testing card c{i}")), "{all}");
        assert!(all.contains(&format!("alert id: card_testing-00000{i}")), "{all}");
        assert!(all.contains(&format!("Message-ID: <card_testing-00000{i}@cepheus>")), "{all}");
    }
    assert!(all.contains("To: oncall@example.com, fraud@example.com"), "{all}");
    assert_eq!(metric(&reg, "cepheus_alerts_delivered_total", &[("sink", "mail"), ("outcome", "success")]), 3.0);
    d.shutdown().await;
}
