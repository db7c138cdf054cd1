//! Fixtures shared by the backend tests: the same state entries and runs for the local and
//! the S3 backend (neither looks at a resource's type or properties).

#![allow(dead_code)]

use std::collections::BTreeMap;

use cairn_core::state::{HistoryEntry, JournalEntry, OpKind, ResourceState, StateChange};
use cairn_core::Value;

pub fn resource(id: &str, physical: &str) -> ResourceState {
    ResourceState {
        id: id.into(),
        type_name: "AWS::S3::Bucket".into(),
        physical_id: physical.into(),
        region: "us-east-1".into(),
        inputs: Value::Map(BTreeMap::from([("BucketName".to_string(), Value::string(physical))])),
        attributes: BTreeMap::new(),
        dependencies: vec![],
        deletion_policy: Default::default(),
        parent: None,
        name_seed: String::new(),
        drift: None,
    }
}

pub fn begin(op: u64, kind: OpKind, id: &str) -> JournalEntry {
    JournalEntry::Begin {
        op,
        kind,
        id: id.into(),
        type_name: "AWS::S3::Bucket".into(),
        region: "us-east-1".into(),
        physical_id: None,
        inputs: Value::Null,
        name_seed: String::new(),
        replacing: false,
        replaced_snapshot: false,
        retired: false,
        dependencies: vec![],
        deletion_policy: Default::default(),
        parent: None,
    }
}

/// A commit that puts `resource(id, physical)`.
pub fn put(op: u64, id: &str, physical: &str) -> JournalEntry {
    JournalEntry::Commit { op, changes: vec![StateChange::Put { state: resource(id, physical) }] }
}

/// A finished `up` run of `version`, creating `version` resources.
pub fn history(version: u64, result: &str) -> HistoryEntry {
    HistoryEntry {
        version,
        kind: "up".into(),
        started: "2026-04-01T12:00:00Z".into(),
        ended: "2026-04-01T12:00:05Z".into(),
        result: result.into(),
        counts: BTreeMap::from([("create".to_string(), version)]),
        template_digest: None,
        config_digest: None,
        error: None,
        inputs: None,
        rolled_back_to: None,
    }
}
