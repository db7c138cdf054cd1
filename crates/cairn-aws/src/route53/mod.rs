//! Amazon Route 53 types, and what they share: ids without their `/hostedzone/` and
//! `/change/` prefixes, DNS names as Route 53 answers them (lower case, a trailing dot),
//! the wait for a change to reach every Route 53 server (`GetChange` until `INSYNC`), and
//! every record set of a zone (`ListResourceRecordSets`, paged by name, type and set id).
//!
//! Route 53 is a global service: its client is signed in the partition's home region
//! (`us-east-1`) whatever the stack's region is.

use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecordSet, RrType};
use cairn_core::provider::ProviderError;

use crate::kit::Cx;
use crate::util::sdk_error;

pub mod hosted_zone;
pub mod record_set;

/// A hosted zone or change id without the prefix Route 53 gives it (`/hostedzone/Z1` is `Z1`).
pub(crate) fn bare_id(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// A DNS name as Route 53 answers it: lower case, with a trailing dot. (Route 53 also
/// answers `*` and other special characters as `\052`-style octal escapes: those are
/// decoded first.)
pub(crate) fn dns_name(name: &str) -> String {
    let mut s = unescape(name).to_ascii_lowercase();
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

/// `\052` (Route 53's escape of `*` and other characters outside `a-z0-9-_.`) as the character.
fn unescape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 4).filter(|d| d.bytes().all(|b| (b'0'..=b'7').contains(&b)));
        match code.and_then(|d| u8::from_str_radix(d, 8).ok()) {
            Some(c) => {
                out.push(c as char);
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether two DNS names are the same name (case, trailing dot and escapes aside).
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    dns_name(a) == dns_name(b)
}

/// Wait until the change `change_id` (a `ChangeInfo.Id`) is `INSYNC`: propagated to every
/// Route 53 DNS server. Progress is reported while it is `PENDING`.
pub(crate) async fn wait_insync(
    cx: &Cx<'_>,
    route53: &aws_sdk_route53::Client,
    change_id: &str,
    what: &str,
) -> Result<(), ProviderError> {
    let id = bare_id(change_id).to_string();
    cx.wait_until(&format!("{what} to reach every Route 53 server (change {id} INSYNC)"), || async {
        let out = route53.get_change().id(&id).send().await.map_err(sdk_error)?;
        Ok(out.change_info.filter(|c| c.status == ChangeStatus::Insync).map(|_| ()))
    })
    .await
}

/// Every record set of a zone, or from `start` (name, type) on: `ListResourceRecordSets`
/// page by page, where `stop` says when the sorted listing is past what the caller wants.
pub(crate) async fn record_sets(
    route53: &aws_sdk_route53::Client,
    zone_id: &str,
    start: Option<(&str, &str)>,
    stop: impl Fn(&ResourceRecordSet) -> bool,
) -> Result<Vec<ResourceRecordSet>, ProviderError> {
    let mut out = Vec::new();
    let mut next: Option<(String, Option<RrType>, Option<String>)> =
        start.map(|(n, t)| (n.to_string(), Some(RrType::from(t)), None));
    loop {
        let mut call = route53.list_resource_record_sets().hosted_zone_id(zone_id);
        if let Some((name, kind, id)) = &next {
            call = call
                .start_record_name(name)
                .set_start_record_type(kind.clone())
                .set_start_record_identifier(id.clone());
        }
        let page = call.send().await.map_err(sdk_error)?;
        for r in page.resource_record_sets {
            if stop(&r) {
                return Ok(out);
            }
            out.push(r);
        }
        match (page.is_truncated, page.next_record_name) {
            (true, Some(name)) => next = Some((name, page.next_record_type, page.next_record_identifier)),
            _ => return Ok(out),
        }
    }
}

/// One change of a record set in zone `zone_id` (`ChangeResourceRecordSets`), then the
/// wait until it is `INSYNC`.
pub(crate) async fn change(
    cx: &Cx<'_>,
    route53: &aws_sdk_route53::Client,
    zone_id: &str,
    action: ChangeAction,
    record: ResourceRecordSet,
    comment: Option<String>,
) -> Result<(), ProviderError> {
    let what =
        format!("{} {} record {} in hosted zone {zone_id}", action.as_str(), record.r#type.as_str(), record.name);
    let change = Change::builder().action(action).resource_record_set(record).build().map_err(build_err)?;
    let batch = ChangeBatch::builder().changes(change).set_comment(comment).build().map_err(build_err)?;
    let out = route53
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(batch)
        .send()
        .await
        .map_err(sdk_error)?;
    match out.change_info {
        Some(info) => wait_insync(cx, route53, &info.id, &what).await,
        None => Ok(()),
    }
}

/// A request the SDK refused to build (a required field left out), as an error.
pub(crate) fn build_err(e: aws_sdk_route53::error::BuildError) -> ProviderError {
    ProviderError::with_code("InvalidRequest", format!("the Route 53 request could not be built: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_as_route53_answers_them() {
        assert_eq!(bare_id("/hostedzone/Z123"), "Z123");
        assert_eq!(bare_id("Z123"), "Z123");
        assert_eq!(bare_id("/change/C9"), "C9");
        assert_eq!(dns_name("WWW.Example.com"), "www.example.com.");
        assert_eq!(dns_name("example.com."), "example.com.");
        assert_eq!(dns_name("\\052.example.com."), "*.example.com.");
        assert!(same_name("Example.COM", "example.com."));
        assert!(!same_name("a.example.com", "example.com"));
    }
}
