//! Amazon S3 resource types.

pub mod bucket;
pub mod bucket_policy;
