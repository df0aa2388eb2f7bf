//! Message templates: `{rule}`, `{severity}`, `{message}`, `{id}`,
//! `{rule_version}`, `{event_time}`, `{detected_at}`, `{key}` (all key
//! fields as `a=1, b=x`), `{key.x}`, `{fields.x}`, `{labels.x}`; `{{` and `}}`
//! are literal braces. Parsed once when the sink is configured.

use crate::Alert;

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Id,
    Rule,
    RuleVersion,
    Severity,
    Message,
    EventTime,
    DetectedAt,
    KeyAll,
    Key(String),
    Field(String),
    Label(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(src: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = src.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let rest = &src[i + 1..];
                    let end = rest
                        .find('}')
                        .ok_or_else(|| format!("template `{src}`: `{{` at byte {i} is never closed (write `{{{{` for a brace)"))?;
                    let name = &rest[..end];
                    for _ in 0..name.chars().count() + 1 {
                        chars.next();
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(placeholder(name).ok_or_else(|| {
                        format!(
                            "template `{src}`: unknown placeholder `{{{name}}}`; use id, rule, rule_version, severity, message, event_time, detected_at, key, key.<f>, fields.<f>, labels.<l>"
                        )
                    })?);
                }
                '}' => return Err(format!("template `{src}`: lone `}}` at byte {i} (write `}}}}`)")),
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts })
    }

    pub fn render(&self, a: &Alert) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Id => out.push_str(&a.id),
                Part::Rule => out.push_str(&a.rule),
                Part::RuleVersion => out.push_str(&a.rule_version.to_string()),
                Part::Severity => out.push_str(&a.severity),
                Part::Message => out.push_str(&a.message),
                Part::EventTime => out.push_str(&a.event_time),
                Part::DetectedAt => out.push_str(&a.detected_at),
                Part::KeyAll => out.push_str(&key_text(a)),
                Part::Key(k) => push_value(&mut out, a.key.get(k)),
                Part::Field(k) => push_value(&mut out, a.fields.get(k)),
                Part::Label(k) => out.push_str(a.labels.get(k).map(String::as_str).unwrap_or("")),
            }
        }
        out
    }
}

fn placeholder(name: &str) -> Option<Part> {
    Some(match name.trim() {
        "id" => Part::Id,
        "rule" => Part::Rule,
        "rule_version" => Part::RuleVersion,
        "severity" => Part::Severity,
        "message" => Part::Message,
        "event_time" => Part::EventTime,
        "detected_at" => Part::DetectedAt,
        "key" => Part::KeyAll,
        n => {
            let (ns, f) = n.split_once('.')?;
            if f.is_empty() {
                return None;
            }
            match ns {
                "key" => Part::Key(f.into()),
                "fields" => Part::Field(f.into()),
                "labels" => Part::Label(f.into()),
                _ => return None,
            }
        }
    })
}

fn push_value(out: &mut String, v: Option<&serde_json::Value>) {
    match v {
        Some(serde_json::Value::String(s)) => out.push_str(s),
        Some(serde_json::Value::Null) | None => {}
        Some(v) => out.push_str(&v.to_string()),
    }
}

/// The key as `a=1, b=x`.
pub fn key_text(a: &Alert) -> String {
    let mut s = String::new();
    for (k, v) in &a.key {
        if !s.is_empty() {
            s.push_str(", ");
        }
        s.push_str(k);
        s.push('=');
        push_value(&mut s, Some(v));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_alert;

    #[test]
    fn renders_fields() {
        let mut a = test_alert("abc", "card_testing", "2026-01-01T00:00:00Z");
        a.key.insert("card".into(), "c1".into());
        a.fields.insert("n".into(), 5.into());
        a.labels.insert("team".into(), "fraud".into());
        let t = Template::parse("[{severity}] {rule} {key.card} n={fields.n} team={labels.team} {{x}} {key}").unwrap();
        assert_eq!(t.render(&a), "[high] card_testing c1 n=5 team=fraud {x} card=c1");
        assert!(Template::parse("{nope}").is_err());
        assert!(Template::parse("{rule").is_err());
        assert!(Template::parse("a } b").is_err());
        assert_eq!(Template::parse("{fields.missing}").unwrap().render(&a), "");
    }
}
