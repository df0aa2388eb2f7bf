//! Log sink: one NDJSON line per alert to stdout, to a file (appended), or
//! into the service's structured log.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{Sink, SinkError};
use crate::config::{LogConfig, LogTarget};
use crate::Alert;

pub struct LogSink {
    target: LogTarget,
    file: Option<Mutex<File>>,
    path: String,
}

impl LogSink {
    pub fn new(c: &LogConfig) -> Result<Self, String> {
        let (file, path) = match (c.target, &c.path) {
            (LogTarget::File, Some(p)) => {
                let f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| format!("opening {}: {e}", p.display()))?;
                (Some(Mutex::new(f)), p.display().to_string())
            }
            (LogTarget::File, None) => return Err("target = \"file\" needs a `path`".into()),
            (_, Some(_)) => return Err("`path` is only for target = \"file\"".into()),
            (_, None) => (None, String::new()),
        };
        Ok(LogSink { target: c.target, file, path })
    }
}

#[async_trait]
impl Sink for LogSink {
    async fn deliver(&self, alerts: &[Arc<Alert>]) -> Result<(), SinkError> {
        let mut buf = Vec::new();
        for a in alerts {
            serde_json::to_writer(&mut buf, &**a).map_err(|e| SinkError::permanent(format!("encoding alert: {e}")))?;
            buf.push(b'\n');
        }
        match self.target {
            LogTarget::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(&buf).and_then(|_| out.flush()).map_err(|e| SinkError::retry(format!("stdout: {e}")))
            }
            LogTarget::Log => {
                for line in String::from_utf8_lossy(&buf).lines() {
                    tracing::info!(target: "cepheus::alerts", alert = %line, "alert");
                }
                Ok(())
            }
            LogTarget::File => {
                let Some(f) = &self.file else { return Err(SinkError::permanent("no file open")) };
                let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
                f.write_all(&buf)
                    .and_then(|_| f.sync_data())
                    .map_err(|e| SinkError::retry(format!("writing {}: {e}", self.path)))
            }
        }
    }
}
