//! Webhook: the alert as JSON, POSTed and signed per Standard Webhooks
//! (<https://www.standardwebhooks.com>): `webhook-id` is the alert id (the
//! receiver's idempotency key), `webhook-timestamp` Unix seconds, and
//! `webhook-signature` one `v1,<base64 HMAC-SHA256>` per secret, space
//! separated, over `{id}.{timestamp}.{body}`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{http_result, Sink, SinkError};
use crate::config::{Secret, WebhookConfig};
use crate::ssrf::{http_client, SsrfPolicy};
use crate::Alert;

pub struct WebhookSink {
    client: reqwest::Client,
    url: reqwest::Url,
    keys: Vec<Vec<u8>>,
}

/// The HMAC key of a secret: `whsec_<base64>` is decoded, anything else is
/// used as its bytes.
pub fn secret_key(s: &Secret) -> Result<Vec<u8>, String> {
    match s.expose().strip_prefix("whsec_") {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| "a `whsec_` secret must be followed by base64".to_string()),
        None if s.expose().is_empty() => Err("a webhook secret is empty".into()),
        None => Ok(s.expose().as_bytes().to_vec()),
    }
}

/// The `webhook-signature` value: `v1,<sig>` per key, space separated.
pub fn sign(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut out = String::new();
    for k in keys {
        let mut mac = Hmac::<Sha256>::new_from_slice(k).expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str("v1,");
        out.push_str(&base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    }
    out
}

/// Receiver side: whether `header` holds a valid signature by `key` (any
/// of the space-separated `v1,` entries; constant-time comparison).
pub fn verify(key: &[u8], id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    header.split(' ').filter_map(|s| s.strip_prefix("v1,")).any(|sig| {
        let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(sig) else { return false };
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&sig).is_ok()
    })
}

impl WebhookSink {
    pub fn new(c: &WebhookConfig, policy: Arc<SsrfPolicy>) -> Result<Self, String> {
        let url = policy.check_url(&c.url).map_err(|e| format!("url: {e}"))?;
        if c.secrets.len() > 2 {
            return Err("at most two secrets (the current and, during a rotation, the next)".into());
        }
        let keys = c.secrets.iter().map(secret_key).collect::<Result<_, _>>()?;
        let client = http_client(policy, Duration::from_millis(c.timeout_ms.max(1)))?;
        Ok(WebhookSink { client, url, keys })
    }
}

#[async_trait]
impl Sink for WebhookSink {
    async fn deliver(&self, alerts: &[Arc<Alert>]) -> Result<(), SinkError> {
        for a in alerts {
            let body = serde_json::to_vec(&**a).map_err(|e| SinkError::permanent(format!("encoding alert: {e}")))?;
            let ts = crate::time::now_ms() / 1000;
            let mut req = self
                .client
                .post(self.url.clone())
                .header("content-type", "application/json")
                .header("webhook-id", &a.id)
                .header("webhook-timestamp", ts.to_string());
            if !self.keys.is_empty() {
                req = req.header("webhook-signature", sign(&self.keys, &a.id, ts, &body));
            }
            http_result(req.body(body).send().await)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_secrets_two_signatures_each_verifies() {
        let k1 = secret_key(&Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).unwrap();
        let k2 = secret_key(&Secret::new("next-secret")).unwrap();
        let h = sign(&[k1.clone(), k2.clone()], "msg_1", 1_700_000_000, b"{}");
        assert_eq!(h.split(' ').count(), 2);
        assert!(verify(&k1, "msg_1", 1_700_000_000, b"{}", &h));
        assert!(verify(&k2, "msg_1", 1_700_000_000, b"{}", &h));
        assert!(!verify(&k1, "msg_1", 1_700_000_001, b"{}", &h));
        assert!(!verify(&k1, "msg_2", 1_700_000_000, b"{}", &h));
        assert!(!verify(b"other", "msg_1", 1_700_000_000, b"{}", &h));
        assert!(secret_key(&Secret::new("whsec_***")).is_err());
    }
}
