//! `explain`: one call read from the configured source, explained by the core
//! ([`pbx_core::explain`]: the same mapping the delivery runs), with the delivery state known
//! here — before or after the checkpoint, in the quarantine with its reason.
//!
//! The call is found by a source-level lookup: on `postgres_cdroutput` a UUID id (the call's
//! `main_call_history_id`, a leg's `cdr_id` or `call_history_id`) is one query by id
//! ([`CdrOutputSource::fetch_call`]) and the checkpoint's keyset says which side of it the
//! call is on; otherwise the source is read from its start in checkpoint order (for a file or
//! directory a scan of its lines; for the other database sources their queries in order)
//! until the call is found, and on until the stored checkpoint is seen.

use std::fmt;
use std::sync::Arc;

use pbx_core::config::SourceConfig;
use pbx_core::delivery::Pipeline;
use pbx_core::explain::{CallQuery, Explanation, Outcome};
use pbx_core::{CdrSource, Checkpoint, CheckpointStore, SourceRecord};
use serde::Serialize;

use super::adapters::{Source, Store, build_source};
use crate::Error;
use crate::delivery::FileQuarantine;
use crate::postgres::CdrOutputSource;

/// The checkpoint key of the live delivery.
const LIVE_KEY: &str = "cdr";
/// Records read per fetch while looking for the call.
const BATCH: usize = 1000;

/// Where a call stands in the local delivery state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeliveryPosition {
    /// At or before the stored checkpoint: settled (delivered, a duplicate, skipped or
    /// quarantined).
    BeforeCheckpoint,
    /// After the stored checkpoint: not settled yet (the next run takes it).
    AfterCheckpoint,
    /// No checkpoint is stored yet: nothing was settled.
    NoCheckpoint,
}

/// What is known locally about a call's delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeliveryState {
    /// The stored checkpoint of the live delivery, if any.
    pub checkpoint: Option<String>,
    /// The record's own checkpoint (its place in the source).
    pub record_checkpoint: String,
    /// Before or after the stored checkpoint.
    pub position: DeliveryPosition,
    /// The quarantine's reason, when the record is in the quarantine.
    pub quarantined: Option<String>,
    /// The state in words.
    pub summary: String,
}

/// An explained call: the core's [`Explanation`] and the local delivery state (serialized as
/// one object: the explanation's fields and `delivery`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallExplanation {
    /// The decisions (see [`pbx_core::explain`]).
    #[serde(flatten)]
    pub explanation: Explanation,
    /// The delivery state known locally.
    pub delivery: DeliveryState,
}

impl fmt::Display for CallExplanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.explanation)?;
        write!(f, "delivery   {}", self.delivery.summary)
    }
}

/// What `explain` needs of a sideloader: its source's configuration, its pipeline, its
/// checkpoint store and quarantine (shared with the HTTP endpoints).
pub(crate) struct Explainer {
    pub(crate) source: SourceConfig,
    pub(crate) pipeline: Pipeline,
    pub(crate) store: Arc<Store>,
    pub(crate) quarantine: Arc<FileQuarantine>,
}

impl Explainer {
    /// The call `query` names, explained; `Ok(None)` when the source has no such call.
    pub(crate) async fn explain(
        &self,
        query: &CallQuery,
    ) -> Result<Option<CallExplanation>, Error> {
        if let (CallQuery::Line(_), false) = (query, self.source.kind().is_text()) {
            return Err(Error::Config {
                setting: "explain --line",
                value: query.to_string(),
                reason: "a line number names a call only in a CDR text source (file, directory, socket); give its pbxCallId or id".into(),
            });
        }
        let stored = self.store.load(LIVE_KEY).await?;
        let mut source = build_source(&self.source, None).await?;
        // `cdroutput`: a UUID (the call's or a leg's id) is one query, and the keyset tells
        // the call's side of the checkpoint. Anything else (a pbxCallId) is scanned for.
        if let (Source::CdrOutput(s), CallQuery::Id(id)) = (&mut source, query)
            && let Some(record) = s.fetch_call(id).await?
        {
            let position = match &stored {
                None => DeliveryPosition::NoCheckpoint,
                Some(cp) => match CdrOutputSource::is_at_or_before(&record.checkpoint, cp) {
                    Some(true) => DeliveryPosition::BeforeCheckpoint,
                    _ => DeliveryPosition::AfterCheckpoint,
                },
            };
            return self.explained(record, position, stored).map(Some);
        }
        let mut after: Option<Checkpoint> = None;
        // Whether the stored checkpoint has been read (records after it are not settled).
        let mut passed = false;
        let mut found: Option<(SourceRecord, bool)> = None;
        loop {
            let batch = source.fetch(after.as_ref(), BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.checkpoint.clone());
            for record in batch {
                let at_checkpoint = stored.as_ref() == Some(&record.checkpoint);
                if found.is_none() && self.pipeline.matches(&record, query) {
                    found = Some((record, passed));
                }
                passed |= at_checkpoint;
            }
            if found.is_some() && (passed || stored.is_none()) {
                break;
            }
        }
        let Some((record, passed_before)) = found else {
            return Ok(None);
        };
        let position = match &stored {
            None => DeliveryPosition::NoCheckpoint,
            // Read before the match: the match is after it.
            Some(_) if passed_before => DeliveryPosition::AfterCheckpoint,
            Some(_) if passed => DeliveryPosition::BeforeCheckpoint,
            // Never read: the checkpoint is not in the source (a rotated file, another
            // source): nothing can be said for sure; treated as not settled.
            Some(_) => DeliveryPosition::AfterCheckpoint,
        };
        self.explained(record, position, stored).map(Some)
    }

    /// The record explained, with its delivery state (the quarantine read for it).
    fn explained(
        &self,
        record: SourceRecord,
        position: DeliveryPosition,
        stored: Option<Checkpoint>,
    ) -> Result<CallExplanation, Error> {
        let quarantined = self
            .quarantine
            .read_all()
            .map_err(|e| Error::Failed {
                step: format!(
                    "cannot read the quarantine {}",
                    self.quarantine.path().display()
                ),
                source: e.into(),
            })?
            .into_iter()
            .rev()
            .find(|q| q.checkpoint == record.checkpoint.as_str())
            .map(|q| q.reason);
        let explanation = self.pipeline.explain(&record);
        let summary = summary(position, quarantined.as_deref(), &explanation.outcome);
        Ok(CallExplanation {
            explanation,
            delivery: DeliveryState {
                checkpoint: stored.map(|c| c.as_str().to_owned()),
                record_checkpoint: record.checkpoint.as_str().to_owned(),
                position,
                quarantined,
                summary,
            },
        })
    }
}

fn summary(position: DeliveryPosition, quarantined: Option<&str>, outcome: &Outcome) -> String {
    match (position, quarantined) {
        (_, Some(reason)) => format!("in the quarantine: {reason}"),
        (DeliveryPosition::BeforeCheckpoint, None) => match outcome {
            Outcome::Call(_) => {
                "before the checkpoint: delivered (or already stored: a duplicate)".into()
            }
            Outcome::Skipped(r) => format!("before the checkpoint: skipped ({})", r.kind()),
            _ => "before the checkpoint: settled".into(),
        },
        (DeliveryPosition::AfterCheckpoint, None) => {
            "after the checkpoint: not settled yet (the next run takes it)".into()
        }
        (_, None) => "no checkpoint yet: nothing settled (the first run takes it)".into(),
    }
}
