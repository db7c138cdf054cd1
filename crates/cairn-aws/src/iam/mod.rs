//! AWS Identity and Access Management resource types. IAM is global: these types ignore
//! `Region:` and use one client.

pub mod instance_profile;
pub mod managed_policy;
pub mod policy;
pub mod role;
