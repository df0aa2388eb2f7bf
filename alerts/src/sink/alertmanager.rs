//! Prometheus Alertmanager, v2 API: `POST {url}/api/v2/alerts` with a list
//! of alerts. Labels: `alertname` (the rule), `severity`, the rule's labels
//! and the key fields (names made label-safe); annotations: the message
//! (template), alert id, rule version. A group is one request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{http_result, Sink, SinkError};
use crate::config::AlertmanagerConfig;
use crate::ssrf::{http_client, SsrfPolicy};
use crate::template::Template;
use crate::Alert;

pub struct AlertmanagerSink {
    client: reqwest::Client,
    url: reqwest::Url,
    summary: Template,
    link: Option<Template>,
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`: other characters become `_`.
pub fn label_name(s: &str) -> String {
    let mut out: String = s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

impl AlertmanagerSink {
    pub fn new(c: &AlertmanagerConfig, policy: Arc<SsrfPolicy>) -> Result<Self, String> {
        let base = policy.check_url(&c.url).map_err(|e| format!("url: {e}"))?;
        let url = base
            .join(&format!("{}/api/v2/alerts", base.path().trim_end_matches('/')))
            .map_err(|e| format!("url: {e}"))?;
        Ok(AlertmanagerSink {
            client: http_client(policy, Duration::from_millis(c.timeout_ms.max(1)))?,
            url,
            summary: Template::parse(&c.template)?,
            link: c.link_template.as_deref().map(Template::parse).transpose()?,
        })
    }

    pub fn payload(&self, alerts: &[Arc<Alert>]) -> Value {
        let list: Vec<Value> = alerts
            .iter()
            .map(|a| {
                let mut labels = BTreeMap::new();
                for (k, v) in &a.key {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        v => v.to_string(),
                    };
                    labels.insert(label_name(k), v);
                }
                for (k, v) in &a.labels {
                    labels.insert(label_name(k), v.clone());
                }
                labels.insert("alertname".into(), a.rule.clone());
                labels.insert("severity".into(), a.severity.clone());
                let mut alert = json!({
                    "labels": labels,
                    "annotations": {
                        "summary": self.summary.render(a),
                        "alert_id": a.id,
                        "rule_version": a.rule_version.to_string(),
                        "event_time": a.event_time,
                    },
                    "startsAt": a.event_time,
                });
                if let Some(link) = &self.link {
                    alert["generatorURL"] = Value::String(link.render(a));
                }
                alert
            })
            .collect();
        Value::Array(list)
    }
}

#[async_trait]
impl Sink for AlertmanagerSink {
    async fn deliver(&self, alerts: &[Arc<Alert>]) -> Result<(), SinkError> {
        let body = self.payload(alerts);
        http_result(self.client.post(self.url.clone()).json(&body).send().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names_are_safe() {
        assert_eq!(label_name("card-id"), "card_id");
        assert_eq!(label_name("1x"), "_1x");
        assert_eq!(label_name(""), "_");
    }
}
