//! Slack-compatible incoming webhook: a `text` fallback and Block Kit blocks
//! (severity, message, key, link). A group becomes one message.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{http_result, Sink, SinkError};
use crate::config::SlackConfig;
use crate::ssrf::{http_client, SsrfPolicy};
use crate::template::{key_text, Template};
use crate::Alert;

pub struct SlackSink {
    client: reqwest::Client,
    url: reqwest::Url,
    text: Template,
    link: Option<Template>,
}

impl SlackSink {
    pub fn new(c: &SlackConfig, policy: Arc<SsrfPolicy>) -> Result<Self, String> {
        let url = policy.check_url(c.url.expose()).map_err(|e| format!("url: {e}"))?;
        Ok(SlackSink {
            client: http_client(policy, Duration::from_millis(c.timeout_ms.max(1)))?,
            url,
            text: Template::parse(&c.template)?,
            link: c.link_template.as_deref().map(Template::parse).transpose()?,
        })
    }

    /// The message body for a group of alerts.
    pub fn payload(&self, alerts: &[Arc<Alert>]) -> Value {
        let mut blocks = Vec::new();
        let mut texts = Vec::new();
        // Slack takes at most 50 blocks; 4 per alert, 12 alerts shown.
        for a in alerts.iter().take(12) {
            let text = self.text.render(a);
            blocks.push(json!({"type": "header", "text": {"type": "plain_text",
                "text": format!("{} {}: {}", icon(&a.severity), a.severity.to_uppercase(), a.rule)}}));
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": text.clone()}}));
            blocks.push(json!({"type": "section", "fields": [
                {"type": "mrkdwn", "text": format!("*Severity*\n{}", a.severity)},
                {"type": "mrkdwn", "text": format!("*Key*\n{}", key_text(a))},
                {"type": "mrkdwn", "text": format!("*Event time*\n{}", a.event_time)},
                {"type": "mrkdwn", "text": format!("*Alert id*\n`{}`", a.id)}]}));
            if let Some(link) = &self.link {
                let url = link.render(a);
                blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("<{url}|Open in Cepheus>")}]}));
            }
            texts.push(format!("[{}] {}: {}", a.severity, a.rule, text));
        }
        if alerts.len() > 12 {
            let more = format!("… and {} more alerts", alerts.len() - 12);
            blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": more.clone()}]}));
            texts.push(more);
        }
        json!({"text": texts.join("\n"), "blocks": blocks})
    }
}

fn icon(severity: &str) -> &'static str {
    match severity {
        "critical" => ":red_circle:",
        "high" => ":large_orange_circle:",
        "medium" => ":large_yellow_circle:",
        _ => ":large_blue_circle:",
    }
}

#[async_trait]
impl Sink for SlackSink {
    async fn deliver(&self, alerts: &[Arc<Alert>]) -> Result<(), SinkError> {
        let body = self.payload(alerts);
        http_result(self.client.post(self.url.clone()).json(&body).send().await)
    }
}
