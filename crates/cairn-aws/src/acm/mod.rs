//! AWS Certificate Manager types. A certificate validated by DNS has its validation
//! records put in Route 53 (so the `acm` feature turns on `route53`).

pub mod certificate;
