//! Names of the topics Cepheus keeps, derived from one prefix so several
//! deployments can share a cluster.

use super::KafkaError;

/// The compacted rules topic every instance reads: `<prefix>.rules`.
pub fn rules_topic(prefix: &str) -> String {
    format!("{prefix}.rules")
}

/// Malformed events of a stream: `<prefix>.<stream>.dlq`.
pub fn dead_letter_topic(prefix: &str, stream: &str) -> String {
    format!("{prefix}.{stream}.dlq")
}

/// A stream's events keyed by `field`: `<prefix>.<stream>.by.<field>`.
pub fn repartition_topic(prefix: &str, stream: &str, field: &str) -> String {
    format!("{prefix}.{stream}.by.{field}")
}

/// The default consumer group of a stream: `<prefix>.<stream>`.
pub fn stream_group(prefix: &str, stream: &str) -> String {
    format!("{prefix}.{stream}")
}

/// Kafka's rule for topic names: 1 to 249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn check_topic_name(name: &str) -> Result<(), KafkaError> {
    let valid_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if name.is_empty() || name.len() > 249 || name == "." || name == ".." || !valid_chars {
        return Err(KafkaError::InvalidSetting {
            setting: "topic",
            problem: format!(
                "'{name}' is not a valid Kafka topic name (1-249 characters of a-z A-Z 0-9 . _ -); \
                 check the prefix, stream and field names it is built from"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_design() {
        assert_eq!(rules_topic("cepheus"), "cepheus.rules");
        assert_eq!(dead_letter_topic("cepheus", "tx"), "cepheus.tx.dlq");
        assert_eq!(repartition_topic("cepheus", "tx", "card_id"), "cepheus.tx.by.card_id");
        assert_eq!(stream_group("p", "tx"), "p.tx");
    }

    #[test]
    fn topic_names_are_checked() {
        assert!(check_topic_name("cepheus.tx.by.card_id").is_ok());
        assert!(check_topic_name("").is_err());
        assert!(check_topic_name("..").is_err());
        assert!(check_topic_name("a b").is_err());
        assert!(check_topic_name(&"x".repeat(250)).is_err());
    }
}
