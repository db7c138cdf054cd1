//! AWS Systems Manager resource types.

pub mod parameter;
