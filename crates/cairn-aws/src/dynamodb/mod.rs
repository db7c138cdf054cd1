//! Amazon DynamoDB resource types.

pub mod table;
