//! AWS Lambda resource types.

pub mod function;
