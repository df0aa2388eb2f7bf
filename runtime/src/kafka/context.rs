//! The librdkafka consumer context: turns rebalance callbacks into
//! [`RebalanceHandler`] calls, splitting each new partition into its own
//! queue and seeking it to the start the handler chose before fetching starts.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::{AssignedPartition, PartitionReader, RebalanceHandler, StartFrom};

/// Offset not yet known (Kafka's "invalid offset").
pub(crate) const UNKNOWN_OFFSET: i64 = -1001;

/// State shared by the control thread, the context and the readers.
#[derive(Default)]
pub(crate) struct Shared {
    /// Assigned partitions and the next offset their reader will return.
    pub positions: Mutex<BTreeMap<i32, Arc<AtomicI64>>>,
    pub rebalances: AtomicU64,
}

pub struct StreamContext {
    pub(crate) topic: Arc<str>,
    pub(crate) brokers: Arc<str>,
    pub(crate) default_start: StartFrom,
    pub(crate) handler: Arc<dyn RebalanceHandler>,
    pub(crate) shared: Arc<Shared>,
    /// Set right after creation; splitting a partition queue needs the Arc.
    pub(crate) consumer: OnceLock<Weak<BaseConsumer<StreamContext>>>,
}

impl ClientContext for StreamContext {}

fn to_offset(s: StartFrom) -> Offset {
    match s {
        StartFrom::Offset(o) => Offset::Offset(o),
        StartFrom::Earliest => Offset::Beginning,
        StartFrom::Latest => Offset::End,
        StartFrom::Committed => Offset::Stored,
    }
}

impl StreamContext {
    fn partitions(&self, tpl: &TopicPartitionList) -> Vec<i32> {
        tpl.elements_for_topic(&self.topic).iter().map(|e| e.partition()).collect()
    }

    fn on_assign(&self, base: &BaseConsumer<Self>, tpl: &mut TopicPartitionList) {
        let partitions = self.partitions(tpl);
        let consumer = self.consumer.get().and_then(Weak::upgrade);
        let mut assigned: Vec<AssignedPartition> = partitions
            .iter()
            .map(|&p| {
                let position = Arc::new(AtomicI64::new(UNKNOWN_OFFSET));
                // Split before assigning, so no record of p ever reaches the main queue.
                let reader = consumer.as_ref().and_then(|c| {
                    let queue = c.split_partition_queue(&self.topic, p)?;
                    Some(PartitionReader::new(
                        queue,
                        c.clone(),
                        self.topic.clone(),
                        p,
                        self.brokers.clone(),
                        position.clone(),
                    ))
                });
                if reader.is_none() {
                    tracing::error!(topic = %self.topic, partition = p, "could not split the partition's queue");
                }
                self.shared.positions.lock().unwrap_or_else(|e| e.into_inner()).insert(p, position);
                AssignedPartition::new(p, self.default_start, reader)
            })
            .collect();
        drop(consumer);
        if catch_unwind(AssertUnwindSafe(|| self.handler.assigned(&mut assigned))).is_err() {
            tracing::error!(topic = %self.topic, ?partitions, "the assign handler panicked");
        }
        for a in &assigned {
            if let StartFrom::Offset(o) = a.start {
                if let Some(pos) = self.shared.positions.lock().unwrap_or_else(|e| e.into_inner()).get(&a.partition) {
                    pos.store(o, Ordering::Relaxed);
                }
            }
            if let Err(e) = tpl.set_partition_offset(&self.topic, a.partition, to_offset(a.start)) {
                tracing::error!(topic = %self.topic, partition = a.partition, error = %e, "cannot set start offset");
            }
        }
        if let Err(e) = base.incremental_assign(tpl) {
            tracing::error!(topic = %self.topic, error = %e, "incremental assign failed");
        }
        tracing::info!(topic = %self.topic, ?partitions, "partitions assigned");
    }

    fn on_revoke(&self, base: &BaseConsumer<Self>, tpl: &TopicPartitionList, lost: bool) {
        let partitions = self.partitions(tpl);
        if catch_unwind(AssertUnwindSafe(|| self.handler.revoked(&partitions, lost))).is_err() {
            tracing::error!(topic = %self.topic, ?partitions, "the revoke handler panicked");
        }
        {
            let mut positions = self.shared.positions.lock().unwrap_or_else(|e| e.into_inner());
            for p in &partitions {
                positions.remove(p);
            }
        }
        if let Err(e) = base.incremental_unassign(tpl) {
            tracing::error!(topic = %self.topic, error = %e, "incremental unassign failed");
        }
        tracing::info!(topic = %self.topic, ?partitions, lost, "partitions revoked");
    }
}

impl ConsumerContext for StreamContext {
    fn rebalance(&self, base: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        self.shared.rebalances.fetch_add(1, Ordering::Relaxed);
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => self.on_assign(base, tpl),
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let lost = base.assignment_lost();
                self.on_revoke(base, tpl, lost)
            }
            other => {
                // librdkafka asks to drop the assignment on a rebalance error:
                // the partitions are as good as lost.
                tracing::warn!(topic = %self.topic, error = ?other, "rebalance error; dropping the assignment");
                self.on_revoke(base, tpl, true)
            }
        }
    }
}
