//! Counting the AWS API calls a process makes, for benchmarks: with
//! `CAIRN_COUNT_API_CALLS=1` every SDK client gets an interceptor that counts each
//! operation once (`read_before_serialization`: retries of the same call are not counted
//! again), by service and operation name. Not `read_before_execution`: a client-level
//! interceptor sees that hook before the operation's configuration, so without its name. [`counts`] reads the tally; the CLI prints it at exit.

use std::collections::BTreeMap;
use std::sync::Mutex;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The environment variable that turns counting on (value `1`).
pub const ENV: &str = "CAIRN_COUNT_API_CALLS";

static COUNTS: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// Whether `CAIRN_COUNT_API_CALLS=1`.
pub fn enabled() -> bool {
    std::env::var(ENV).is_ok_and(|v| v == "1")
}

/// Calls made so far by this process, keyed `service.Operation` (e.g. `s3.CreateBucket`).
pub fn counts() -> BTreeMap<String, u64> {
    COUNTS.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The interceptor that counts (added to every client when [`enabled`]).
#[derive(Debug)]
pub(crate) struct CountCalls;

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CairnCountCalls"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let key = match cfg.load::<Metadata>() {
            // "CloudWatch Logs" and "Route 53" as one word each: `cloudwatchlogs.PutRetentionPolicy`.
            Some(m) => format!("{}.{}", m.service().to_ascii_lowercase().replace(' ', ""), m.name()),
            None => "unknown".to_string(),
        };
        *COUNTS.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_insert(0) += 1;
        Ok(())
    }
}
