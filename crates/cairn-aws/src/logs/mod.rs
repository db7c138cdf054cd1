//! Amazon CloudWatch Logs resource types.

pub mod log_group;
