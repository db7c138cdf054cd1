//! Amazon Cognito user pool resource types.

pub mod user_pool;
