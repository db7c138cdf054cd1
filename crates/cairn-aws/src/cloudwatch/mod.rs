//! Amazon CloudWatch: `AWS::CloudWatch::Alarm` and `AWS::CloudWatch::Dashboard`.
//!
//! The SDK crate is pinned to 1.99.x (workspace `Cargo.toml`): later versions speak Smithy
//! RPCv2 CBOR, which the emulator (moto 5.2.5) does not serve.

pub mod alarm;
pub mod dashboard;

/// Characters a generated alarm or dashboard name keeps (CloudWatch takes more; these are
/// safe in both, and in an ARN).
pub(crate) fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}
