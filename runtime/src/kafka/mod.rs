//! Everything Kafka (rdkafka, bundled librdkafka): Kafka is the cluster.
//!
//! | file | what |
//! |---|---|
//! | `config` | [`KafkaConnection`], [`KafkaSourceConfig`] (serde, unknown keys rejected) |
//! | `names` | the topics Cepheus keeps: `<prefix>.rules`, `<prefix>.<stream>.dlq`, `<prefix>.<stream>.by.<field>` |
//! | `admin` | [`KafkaAdmin::ensure_topics`]: idempotent creation, compaction checked |
//! | `consumer`, `context`, `rebalance`, `reader` | [`StreamConsumer`]: one group member per stream topic, cooperative-sticky, rebalances handed to a [`RebalanceHandler`] synchronously, one [`PartitionReader`] (own queue) per assigned partition, lag |
//! | `dead_letter` | [`DeadLetterProducer`]: malformed events to `<prefix>.<stream>.dlq` with the reason in a header |
//! | `rules_topic` | [`RulesWriter`] and [`RulesReader`]: the compacted, broadcast rules topic |
//! | `repartition` | [`Repartitioner`]: a stream's events re-keyed by a field |
//!
//! Offsets are never taken from the group: a partition's offsets live in its
//! checkpoint (see [`crate::checkpoint`]), the [`RebalanceHandler`] seeks each
//! assigned partition to them, and the group's committed offsets only serve
//! lag displays ([`StreamConsumer::commit_progress`]).

mod admin;
mod config;
mod consumer;
mod context;
mod dead_letter;
mod error;
mod field_key;
pub mod names;
mod reader;
mod rebalance;
mod repartition;
mod rules_topic;

pub use admin::{EnsuredTopic, KafkaAdmin, TopicSpec};
pub use config::{KafkaConnection, KafkaSourceConfig, StartPosition};
pub use consumer::{PartitionLag, StreamConsumer};
pub use dead_letter::{DeadLetter, DeadLetterProducer, REASON_HEADER, SOURCE_HEADER, STREAM_HEADER};
pub use error::{ErrorKind, KafkaError};
pub use field_key::{field_key, KeyError};
pub use reader::{KafkaRecord, PartitionReader};
pub use rebalance::{AssignedPartition, RebalanceHandler, StartFrom};
pub use repartition::{origin, OriginFilter, RepartitionError, Repartitioner, ORIGIN_HEADER};
pub use rules_topic::{RuleChange, RuleRecord, RulesReader, RulesWriter};
