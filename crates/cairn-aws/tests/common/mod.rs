//! Shared setup for the tests against moto (`scripts/moto.sh`).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_aws::Aws;
use cairn_core::provider::OpContext;
use rand::Rng;

/// The clients, or `None` (after saying so) when no emulator is configured.
pub async fn aws() -> Option<Arc<Aws>> {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) => {
            assert!(
                url.starts_with("http://127.0.0.1") || url.starts_with("http://localhost"),
                "these tests only run against a local emulator, not {url}"
            );
            Some(Aws::from_env().await)
        }
        Err(_) => {
            // Under scripts/test.sh (and so CI) the emulator is always there: a skip
            // would hide a broken set-up, so it is a failure.
            assert!(
                std::env::var_os("CAIRN_REQUIRE_EMULATOR").is_none(),
                "AWS_ENDPOINT_URL is not set, but CAIRN_REQUIRE_EMULATOR is: scripts/test.sh should have started moto"
            );
            eprintln!("skipping: AWS_ENDPOINT_URL not set (run via scripts/test.sh)");
            None
        }
    }
}

/// A short random suffix that makes names unique per test run.
pub fn suffix() -> String {
    let mut rng = rand::rng();
    (0..8).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])).collect()
}

pub fn ctx(type_name: &str, logical_id: &str, seed: &str) -> OpContext {
    OpContext {
        project: "itest".into(),
        stack: "dev".into(),
        logical_id: logical_id.into(),
        type_name: type_name.into(),
        region: "us-east-1".into(),
        account_id: "123456789012".into(),
        partition: "aws".into(),
        stack_tags: BTreeMap::from([("Environment".to_string(), "test".to_string())]),
        name_seed: seed.into(),
        progress: Default::default(),
        assets: Default::default(),
        final_snapshot: false,
    }
}
