//! Bearer tokens with roles. `viewer` reads, `analyst` also changes rules and
//! runs backtests, `admin` also takes savepoints and works with sinks. A
//! request without a valid token gets 401; a valid token whose role is too
//! low gets 403.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::TokenConfig;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Analyst,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
}

/// Who made a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

/// The configured tokens. Empty: authentication is off and every caller is
/// an admin (a laptop setup; the service warns at start).
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_token: Arc<HashMap<String, Caller>>,
}

impl Tokens {
    pub fn new(tokens: &[TokenConfig]) -> Self {
        let by_token = tokens
            .iter()
            .map(|t| {
                (
                    t.token.clone(),
                    Caller {
                        name: t.name.clone(),
                        role: t.role,
                    },
                )
            })
            .collect();
        Tokens {
            by_token: Arc::new(by_token),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.by_token.is_empty()
    }

    /// Checks an `Authorization` header value against the role a route needs.
    pub fn authorize(&self, header: Option<&str>, needed: Role) -> Result<Caller, ApiError> {
        if !self.enabled() {
            return Ok(Caller {
                name: "anonymous".into(),
                role: Role::Admin,
            });
        }
        let header = header.ok_or_else(|| {
            ApiError::unauthorized("missing bearer token: send `Authorization: Bearer <token>`")
        })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <token>`"))?
            .trim();
        let caller = self
            .lookup(token)
            .ok_or_else(|| ApiError::unauthorized("unknown token: use one of server.tokens"))?;
        if caller.role < needed {
            return Err(ApiError::forbidden(format!(
                "this needs the {} role; token '{}' has {}",
                needed.as_str(),
                caller.name,
                caller.role.as_str()
            )));
        }
        Ok(caller)
    }

    /// Constant-time comparison against every token, so timing does not
    /// reveal how much of a guess was right.
    fn lookup(&self, token: &str) -> Option<Caller> {
        let mut found = None;
        for (t, caller) in self.by_token.iter() {
            if constant_time_eq(t.as_bytes(), token.as_bytes()) {
                found = Some(caller.clone());
            }
        }
        found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn tokens() -> Tokens {
        Tokens::new(&[
            TokenConfig { name: "v".into(), token: "viewer-token".into(), role: Role::Viewer },
            TokenConfig { name: "a".into(), token: "admin-token".into(), role: Role::Admin },
        ])
    }

    #[test]
    fn missing_or_unknown_token_is_401_low_role_is_403() {
        let t = tokens();
        assert_eq!(t.authorize(None, Role::Viewer).unwrap_err().status, StatusCode::UNAUTHORIZED);
        assert_eq!(t.authorize(Some("Bearer nope-nope"), Role::Viewer).unwrap_err().status, StatusCode::UNAUTHORIZED);
        assert_eq!(t.authorize(Some("Basic abc"), Role::Viewer).unwrap_err().status, StatusCode::UNAUTHORIZED);
        assert_eq!(t.authorize(Some("Bearer viewer-token"), Role::Analyst).unwrap_err().status, StatusCode::FORBIDDEN);
        assert_eq!(t.authorize(Some("Bearer viewer-token"), Role::Viewer).expect("ok").name, "v");
        assert_eq!(t.authorize(Some("Bearer admin-token"), Role::Analyst).expect("ok").role, Role::Admin);
    }

    #[test]
    fn no_tokens_means_open() {
        let t = Tokens::default();
        assert_eq!(t.authorize(None, Role::Admin).expect("open").role, Role::Admin);
    }
}
