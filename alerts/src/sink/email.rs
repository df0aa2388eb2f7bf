//! Email over SMTP (lettre): plain, STARTTLS or TLS, optional login. A group
//! becomes one mail. The Message-ID carries the alert id, so a mail
//! client can thread or drop a repeat.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Sink, SinkError};
use crate::config::{EmailConfig, EmailTls};
use crate::template::Template;
use crate::Alert;

pub struct EmailSink {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    subject: Template,
    body: Template,
}

impl EmailSink {
    pub fn new(c: &EmailConfig) -> Result<Self, String> {
        let builder = match c.tls {
            EmailTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host),
            EmailTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host)
                .map_err(|e| format!("STARTTLS to {}: {e}", c.host))?,
            EmailTls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&c.host).map_err(|e| format!("TLS to {}: {e}", c.host))?
            }
        };
        let mut builder = builder.port(c.port).timeout(Some(Duration::from_millis(c.timeout_ms.max(1))));
        match (&c.username, &c.password) {
            (Some(u), Some(p)) => builder = builder.credentials(Credentials::new(u.clone(), p.expose().to_string())),
            (None, None) => {}
            _ => return Err("give both `username` and `password`, or neither".into()),
        }
        if c.to.is_empty() {
            return Err("`to` names no recipient".into());
        }
        Ok(EmailSink {
            transport: builder.build(),
            from: c.from.parse().map_err(|e| format!("from `{}`: {e}", c.from))?,
            to: c.to.iter().map(|t| t.parse().map_err(|e| format!("to `{t}`: {e}"))).collect::<Result<_, _>>()?,
            subject: Template::parse(&c.subject_template)?,
            body: Template::parse(&c.body_template)?,
        })
    }

    fn message(&self, alerts: &[Arc<Alert>]) -> Result<Message, SinkError> {
        let first = &alerts[0];
        let mut subject = self.subject.render(first);
        if alerts.len() > 1 {
            subject.push_str(&format!(" (+{} more)", alerts.len() - 1));
        }
        let body = alerts.iter().map(|a| self.body.render(a)).collect::<Vec<_>>().join("\n----\n");
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .message_id(Some(format!("<{}@cepheus>", first.id)))
            .header(ContentType::TEXT_PLAIN);
        for t in &self.to {
            b = b.to(t.clone());
        }
        b.body(body).map_err(|e| SinkError::permanent(format!("building the mail: {e}")))
    }
}

#[async_trait]
impl Sink for EmailSink {
    async fn deliver(&self, alerts: &[Arc<Alert>]) -> Result<(), SinkError> {
        if alerts.is_empty() {
            return Ok(());
        }
        let msg = self.message(alerts)?;
        match self.transport.send(msg).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SinkError::permanent(format!("SMTP: {e}"))),
            Err(e) => Err(SinkError::retry(format!("SMTP: {}", super::error_chain(&e)))),
        }
    }
}
