//! The SSM Parameter Store as cairn's [`ParameterStore`]: the values that
//! `AWS::SSM::Parameter::Value<T>` parameters and `{{resolve:ssm:...}}` /
//! `{{resolve:ssm-secure:...}}` references name, read with `GetParameters` (ten names a
//! call, decrypted only for `ssm-secure`) before the plan. Nothing is written.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use cairn_core::provider::{ParameterStore, ProviderError};
use cairn_core::ssm::{SsmRef, SsmValues};

use crate::Aws;

/// `GetParameters` takes at most ten names.
const BATCH: usize = 10;

/// Reads through aws-sdk-ssm in the stack's region.
pub struct SsmParameterStore(pub Arc<Aws>);

#[async_trait]
impl ParameterStore for SsmParameterStore {
    async fn read(&self, region: &str, refs: &[SsmRef]) -> Result<SsmValues, ProviderError> {
        let ssm: aws_sdk_ssm::Client = self.0.client(region);
        let mut out = BTreeMap::new();
        // A name with a `:VERSION` or `:LABEL` selector is read alone (`GetParameter`):
        // the same parameter may be asked for at two versions, and a batch's answer
        // cannot always tell which is which. Plain names are read ten at a time.
        let (selected, plain): (Vec<&SsmRef>, Vec<&SsmRef>) = refs.iter().partition(|r| has_selector(&r.name));
        for r in selected {
            let answer = ssm
                .get_parameter()
                .name(&r.name)
                .with_decryption(r.secure)
                .send()
                .await
                .map_err(|e| not_found(crate::util::sdk_error(e), &[r.name.as_str()], region))?;
            let value = answer.parameter().and_then(|p| p.value()).unwrap_or_default();
            out.insert(r.clone(), value.to_string());
        }
        for secure in [false, true] {
            let names: Vec<&SsmRef> = plain.iter().copied().filter(|r| r.secure == secure).collect();
            for batch in names.chunks(BATCH) {
                let answer = ssm
                    .get_parameters()
                    .set_names(Some(batch.iter().map(|r| r.name.clone()).collect()))
                    .with_decryption(secure)
                    .send()
                    .await
                    .map_err(crate::util::sdk_error)?;
                let invalid: Vec<&str> = answer.invalid_parameters().iter().map(String::as_str).collect();
                if !invalid.is_empty() {
                    return Err(not_found(ProviderError::with_code("ParameterNotFound", ""), &invalid, region)
                        .in_operation("GetParameters"));
                }
                for p in answer.parameters() {
                    let name = p.name().unwrap_or_default();
                    for r in batch.iter().filter(|r| r.name == name || p.arn() == Some(r.name.as_str())) {
                        out.insert((*r).clone(), p.value().unwrap_or_default().to_string());
                    }
                }
            }
        }
        Ok(SsmValues::read(out))
    }
}

/// Whether a parameter name (or ARN) ends with a `:VERSION` or `:LABEL` selector.
fn has_selector(name: &str) -> bool {
    let last = name.rsplit('/').next().unwrap_or(name);
    // An ARN is `arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME[:SELECTOR]`.
    last.contains(':') && (!name.starts_with("arn:") || name.contains(":parameter/"))
}

/// A missing parameter as an error that names it and says what to do.
fn not_found(e: ProviderError, names: &[&str], region: &str) -> ProviderError {
    if !matches!(e.code.as_deref(), Some("ParameterNotFound" | "ParameterVersionNotFound")) {
        return e;
    }
    let list = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let plural = names.len() != 1;
    ProviderError {
        message: format!(
            "SSM parameter{} {list} not found in {region}: create {}, or correct the name in the template or stack file",
            if plural { "s" } else { "" },
            if plural { "them" } else { "it" },
        ),
        ..e
    }
}

#[cfg(test)]
mod tests {
    use super::has_selector;

    #[test]
    fn names_with_a_version_or_label_are_told_apart() {
        assert!(!has_selector("/app/db"));
        assert!(has_selector("/app/db:2"));
        assert!(has_selector("/app/db:live"));
        assert!(has_selector("plain:3"));
        assert!(!has_selector("arn:aws:ssm:us-east-1:123456789012:parameter/app/db"));
        assert!(has_selector("arn:aws:ssm:us-east-1:123456789012:parameter/app/db:4"));
    }
}
