//! AWS Lambda resource types.

pub mod function;
pub mod permission;
