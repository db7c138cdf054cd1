//! Amazon SNS resource types.

pub mod topic;
