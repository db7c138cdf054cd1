//! Test doubles for cairn's engine tests, CLI tests and benchmarks:
//!
//! - [`TestCloud`]: an in-memory cloud, inspectable (live resources, call log, highest
//!   concurrency) and able to fail calls on demand.
//! - [`TestType`]: a configurable resource type (name, latency) whose resources live in a
//!   [`TestCloud`].
//! - [`MultiCallType`]: a type whose create and update make several calls, each of which
//!   can fail or lose its answer.
//! - [`TestIdentity`]: an [`Identity`] with a fixed account id.
//! - [`MemoryBackend`]: an in-memory state [`Backend`](cairn_core::state::Backend) with
//!   crash injection.
//! - [`registry`]: all of the above wired together with cairn's built-in types.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::provider::{Identity, OpContext, ProviderError, Registry};

mod backend;
mod cloud;
mod multi_type;
mod test_type;

pub use backend::MemoryBackend;
pub use cloud::{LiveResource, Op, TestCloud};
pub use multi_type::{MultiCallType, MULTI_TYPE};
pub use test_type::TestType;

/// The account id [`registry`] gives its identity.
pub const TEST_ACCOUNT_ID: &str = "123456789012";

/// An [`Identity`] with a fixed account id.
#[derive(Clone, Debug)]
pub struct TestIdentity {
    account_id: String,
}

impl TestIdentity {
    pub fn new(account_id: &str) -> Self {
        TestIdentity { account_id: account_id.to_string() }
    }
}

#[async_trait]
impl Identity for TestIdentity {
    async fn account_id(&self) -> Result<String, ProviderError> {
        Ok(self.account_id.clone())
    }
}

/// A registry with `Test::Thing` and `Test::Other` (both in `cloud`, each call taking
/// `latency`), `Test::Db` (the same, whose deletes can take a final snapshot), `Test::Multi` (several calls per create and update, no latency), cairn's built-in types, and a [`TestIdentity`] for [`TEST_ACCOUNT_ID`].
pub fn registry(cloud: &TestCloud, latency: Duration) -> Registry {
    let mut reg = Registry::new();
    for type_name in ["Test::Thing", "Test::Other"] {
        reg.register(Arc::new(TestType::new(type_name, cloud).with_latency(latency)));
    }
    reg.register(Arc::new(TestType::new("Test::Db", cloud).with_latency(latency).with_final_snapshot()));
    reg.register(Arc::new(MultiCallType::new(cloud)));
    cairn_core::builtin::register(&mut reg);
    reg.set_identity(Arc::new(TestIdentity::new(TEST_ACCOUNT_ID)));
    reg
}

/// An operation context for calling a type directly: project `test`, stack `dev`, region
/// `us-east-1`, the [`TEST_ACCOUNT_ID`], and `name_seed` as given.
pub fn op_context(type_name: &str, logical_id: &str, name_seed: &str) -> OpContext {
    OpContext {
        project: "test".to_string(),
        stack: "dev".to_string(),
        logical_id: logical_id.to_string(),
        type_name: type_name.to_string(),
        region: "us-east-1".to_string(),
        account_id: TEST_ACCOUNT_ID.to_string(),
        partition: "aws".to_string(),
        stack_tags: Default::default(),
        name_seed: name_seed.to_string(),
        progress: Default::default(),
        assets: Default::default(),
        final_snapshot: false,
    }
}
