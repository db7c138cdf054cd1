//! Amazon EventBridge Scheduler: `AWS::Scheduler::ScheduleGroup` and
//! `AWS::Scheduler::Schedule`.

pub mod schedule;
pub mod schedule_group;

use cairn_core::provider::ProviderError;

/// The code EventBridge Scheduler answers for a schedule or group that does not exist.
pub(crate) const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

/// Characters of a schedule or group name (`[0-9a-zA-Z-_.]`).
pub(crate) fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.".contains(c)
}

/// A timestamp as the schemas' `date-time` (ISO 8601, UTC).
pub(crate) fn date_time(t: &aws_smithy_types::DateTime) -> Result<String, ProviderError> {
    t.fmt(aws_smithy_types::date_time::Format::DateTime)
        .map_err(|e| ProviderError::with_code("InvalidResponse", format!("a timestamp cairn cannot write: {e}")))
}
