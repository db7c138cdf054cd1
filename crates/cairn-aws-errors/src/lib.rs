//! What every AWS client of cairn shares, whatever crate makes it (the provider in
//! cairn-aws, the S3 state backend and the KMS secrets provider in cairn-state):
//!
//! - [`retry_config`]: the SDK's standard retry mode with [`max_attempts`] attempts;
//! - [`sdk_error`]: an SDK error as a [`ProviderError`] a person can read (the AWS
//!   operation, the error code or HTTP status, AWS's message, what to do next), never the
//!   SDK's Debug output.
//!
//! It depends on the Smithy runtime types only, not on any service crate, so that
//! cairn-state does not wait for the provider's service crates to build.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::{ErrorKind, RetryConfig};
use cairn_core::provider::ProviderError;
use serde_json::Value as Json;

/// Attempts per API call (the SDK's standard retry mode: throttling, 5xx and transient
/// network errors, connection resets included, are retried with jittered exponential
/// backoff, 1 s doubling up to 20 s). Ten, not the SDK's three: with throttling, 5xx answers
/// and resets at 8% each (24% of attempts), 5 attempts leave one call in 1,250 failed, about
/// one examples/pipeweave lifecycle in nine (`cairn-cli/tests/aws_faults.rs` found it); 10
/// leave one in 1.6 million. An infrastructure run would rather wait than stop half-way.
pub const MAX_ATTEMPTS: u32 = 10;

/// Attempts per API call: `AWS_MAX_ATTEMPTS` when it is set to a positive number (the
/// SDKs' own setting), else [`MAX_ATTEMPTS`].
pub fn max_attempts() -> u32 {
    std::env::var("AWS_MAX_ATTEMPTS")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(MAX_ATTEMPTS)
}

/// The retry configuration of every AWS client cairn makes (the provider's, and the S3
/// state backend's and KMS secrets provider's in cairn-state): the standard mode with
/// [`max_attempts`].
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(max_attempts())
}

/// Error codes that mean "slow down and try again".
const THROTTLING: [&str; 8] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "RequestLimitExceeded",
    "ServiceUnavailable",
];

/// Error codes that mean "these credentials may not make this call".
const ACCESS_DENIED: [&str; 4] = ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden"];

/// Error codes that mean "these credentials are not valid (any more)".
const BAD_CREDENTIALS: [&str; 8] = [
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
];

/// The longest excerpt of an answer's body that an error message quotes.
const EXCERPT_CHARS: usize = 160;

/// An SDK error as a [`ProviderError`] a person can read: the AWS operation, the error code
/// (or, when the answer has none, its HTTP status), AWS's message (or an excerpt of the
/// answer's body), whether a retry may succeed (throttling, 5xx, timeouts and connection
/// failures), and what to do next where that is known. Never the SDK's Debug output.
///
/// The operation comes from the SDK's error type (`PutBucketEncryptionError` is the error
/// of `PutBucketEncryption`), so every call site names its operation without saying it.
pub fn sdk_error<E>(err: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut out = match &err {
        SdkError::TimeoutError(_) => transport("no answer came within the time limit".to_string()),
        SdkError::DispatchFailure(d)
            if d.is_io() || d.is_timeout() || d.as_other() == Some(ErrorKind::TransientError) =>
        {
            transport(connection_failure(&err))
        }
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => {
            ProviderError::new(format!("the request could not be sent: {}", error_chain(&err)))
        }
        SdkError::ResponseError(_) => {
            let raw = err.raw_response();
            let status = raw.map(|r| r.status().as_u16()).unwrap_or_default();
            let body = raw.and_then(|r| r.body().bytes()).unwrap_or_default();
            ProviderError {
                message: format!("the answer (HTTP {status}) could not be read: {}", body_excerpt(body)),
                retryable: status >= 500,
                ..Default::default()
            }
        }
        _ => answered(&err),
    };
    out.operation = operation_name::<E>();
    out
}

/// A failure to get any answer: what happened, and that the call can be retried.
fn transport(what: String) -> ProviderError {
    ProviderError {
        message: format!("{what}; the call can be retried (run the command again)"),
        retryable: true,
        ..Default::default()
    }
}

/// An error answer from the service.
fn answered<E>(err: &SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata,
{
    let raw = err.raw_response();
    let status = raw.map(|r| r.status().as_u16());
    let body = raw.and_then(|r| r.body().bytes()).unwrap_or_default();
    let nonempty = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let mut code = nonempty(err.code());
    let mut message = nonempty(err.message());
    if code.is_none() || message.is_none() {
        let (c, m) = code_and_message_in_body(body);
        code = code.or(c);
        message = message.or(m);
    }
    let code = code.or_else(|| match status {
        // S3 answers HEAD requests without a body, so without a code.
        Some(404) => Some("NotFound".to_string()),
        Some(403) => Some("Forbidden".to_string()),
        _ => None,
    });
    let mut message = match message {
        Some(m) => m,
        None if code.is_none() && !body.is_empty() => format!("the answer reads {}", body_excerpt(body)),
        None => String::new(),
    };
    let throttled = code.as_deref().is_some_and(|c| THROTTLING.contains(&c));
    let retryable = throttled || status.is_some_and(|s| s >= 500 || s == 429);
    let hint = match code.as_deref() {
        _ if throttled => Some(format!(
            "AWS still refused after {} attempts: run the command again later, or with a lower --parallel",
            crate::max_attempts()
        )),
        Some(c) if ACCESS_DENIED.contains(&c) => {
            Some("the credentials in use are not allowed to make this call: check their IAM permissions".to_string())
        }
        Some(c) if BAD_CREDENTIALS.contains(&c) => {
            Some("the AWS credentials are not valid (any more): renew them, then run the command again".to_string())
        }
        _ if retryable => Some("a failure on AWS's side: the call can be retried (run the command again)".to_string()),
        _ => None,
    };
    if let Some(h) = hint {
        let said = message.trim_end_matches('.');
        message = if said.is_empty() { h } else { format!("{said}; {h}") };
    }
    ProviderError { code, message, retryable, status, ..Default::default() }
}

/// The operation an SDK error type belongs to: `PutBucketEncryptionError` gives
/// `PutBucketEncryption` (every aws-sdk-rust operation `Op` has the error type `OpError`).
fn operation_name<E>() -> Option<String> {
    let last = std::any::type_name::<E>().rsplit("::").next()?;
    let op = last.strip_suffix("Error")?;
    let well_formed = op.starts_with(|c: char| c.is_ascii_uppercase()) && op.chars().all(|c| c.is_ascii_alphanumeric());
    well_formed.then(|| op.to_string())
}

/// What went wrong with the connection, from the innermost I/O error when there is one.
fn connection_failure(err: &(dyn std::error::Error + 'static)) -> String {
    use std::io::ErrorKind;
    let mut next = Some(err);
    let mut innermost = String::new();
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            let what = match io.kind() {
                ErrorKind::ConnectionRefused => Some("the connection was refused"),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                    Some("the connection was reset before an answer came")
                }
                ErrorKind::UnexpectedEof => Some("the connection was closed before an answer came"),
                ErrorKind::TimedOut => Some("the connection timed out"),
                _ => None,
            };
            if let Some(w) = what {
                return w.to_string();
            }
        }
        let text = e.to_string();
        if !text.is_empty() {
            innermost = text;
        }
        next = e.source();
    }
    match innermost.as_str() {
        "connection closed before message completed" => "the connection was closed before an answer came".to_string(),
        "" => "the connection failed".to_string(),
        other => format!("the connection failed: {other}"),
    }
}

/// The Display texts of an error and its sources, without the SDK's generic wrappers, once
/// each (never Debug).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    const GENERIC: [&str; 7] = [
        "dispatch failure",
        "failed to construct request",
        "io error",
        "other",
        "timeout",
        "user error",
        "unhandled error",
    ];
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !GENERIC.contains(&text.as_str()) && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    if parts.is_empty() {
        "no reason given".to_string()
    } else {
        parts.join(": ")
    }
}

/// The error code and message in an error answer's body that the SDK could not read:
/// JSON (`__type`/`code`, `message`) or XML (`<Code>`, `<Message>`).
fn code_and_message_in_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(text) = std::str::from_utf8(body) else { return (None, None) };
    let text = text.trim();
    let clean = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    if text.starts_with('{') {
        let Ok(Json::Object(map)) = serde_json::from_str::<Json>(text) else { return (None, None) };
        let field = |keys: &[&str]| keys.iter().find_map(|k| map.get(*k).and_then(Json::as_str)).and_then(clean);
        // `__type` may be `aws.protocoltests#Code` or `Code:http://...`.
        let code = field(&["__type", "code", "Code"]).map(|c| {
            let c = c.rsplit('#').next().unwrap_or(&c).to_string();
            c.split(':').next().unwrap_or(&c).to_string()
        });
        return (code, field(&["message", "Message", "errorMessage"]));
    }
    if text.starts_with('<') && !looks_like_html(text) {
        let tag = |name: &str| -> Option<String> {
            let open = format!("<{name}>");
            let start = text.find(&open)? + open.len();
            let end = text[start..].find(&format!("</{name}>"))? + start;
            clean(&unescape_xml(&text[start..end]))
        };
        return (tag("Code"), tag("Message"));
    }
    (None, None)
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text.chars().take(200).collect::<String>().to_ascii_lowercase();
    head.contains("<html") || head.contains("<!doctype html")
}

fn unescape_xml(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// A short, printable, quoted excerpt of a body: the text of an HTML page, whitespace
/// collapsed, at most [`EXCERPT_CHARS`] characters; a body that is not text is described.
fn body_excerpt(body: &[u8]) -> String {
    if body.is_empty() {
        return "nothing (an empty body)".to_string();
    }
    let text = match std::str::from_utf8(body) {
        Ok(t) if !t.chars().any(|c| c.is_control() && !c.is_whitespace()) => t,
        _ => return format!("{} bytes that are not text", body.len()),
    };
    let text = if looks_like_html(text) { html_text(text) } else { text.to_string() };
    let words: Vec<&str> = text.split_whitespace().collect();
    let flat = words.join(" ");
    if flat.is_empty() {
        return "nothing but white space".to_string();
    }
    let mut excerpt: String = flat.chars().take(EXCERPT_CHARS).collect();
    if excerpt.len() < flat.len() {
        excerpt.push_str("...");
    }
    format!("\"{excerpt}\"")
}

/// The text of an HTML page: tags, scripts and styles removed, entities decoded.
fn html_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        out.push(' ');
        let after = &rest[lt..];
        let lower: String = after.chars().take(8).collect::<String>().to_ascii_lowercase();
        let skip_to = if lower.starts_with("<script") {
            after.to_ascii_lowercase().find("</script>").map(|i| i + "</script>".len())
        } else if lower.starts_with("<style") {
            after.to_ascii_lowercase().find("</style>").map(|i| i + "</style>".len())
        } else {
            after.find('>').map(|i| i + 1)
        };
        match skip_to {
            Some(n) => rest = &after[n..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    unescape_xml(&out.replace("&nbsp;", " "))
}

#[cfg(test)]
mod tests {
    mod sdk_errors {
        use aws_sdk_s3::config::http::HttpResponse;
        use aws_sdk_s3::error::{ConnectorError, ErrorMetadata, SdkError};
        use aws_sdk_s3::operation::put_bucket_encryption::PutBucketEncryptionError;
        use aws_sdk_s3::primitives::SdkBody;
        use aws_smithy_runtime_api::http::StatusCode;

        use super::super::*;

        /// The error the SDK gives for an answer it could not classify: `code` and `message`
        /// as far as it parsed them, and the raw answer.
        fn answer(status: u16, code: Option<&str>, message: Option<&str>, body: &str) -> ProviderError {
            let mut meta = ErrorMetadata::builder();
            if let Some(c) = code {
                meta = meta.code(c);
            }
            if let Some(m) = message {
                meta = meta.message(m);
            }
            let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body.to_string()));
            sdk_error(SdkError::service_error(PutBucketEncryptionError::generic(meta.build()), raw))
        }

        #[test]
        fn the_operation_comes_from_the_error_type() {
            assert_eq!(operation_name::<PutBucketEncryptionError>().as_deref(), Some("PutBucketEncryption"));
            assert_eq!(
                operation_name::<aws_sdk_iam::operation::create_role::CreateRoleError>().as_deref(),
                Some("CreateRole")
            );
            assert_eq!(
                operation_name::<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError>().as_deref(),
                Some("GetCallerIdentity")
            );
            assert_eq!(operation_name::<std::io::Error>(), None);
        }

        #[test]
        fn a_coded_answer_keeps_code_message_and_status() {
            let e = answer(400, Some("NewCodeNobodyKnows"), Some("Something new."), "");
            assert_eq!(e.operation.as_deref(), Some("PutBucketEncryption"));
            assert_eq!(e.code.as_deref(), Some("NewCodeNobodyKnows"));
            assert_eq!(e.message, "Something new.");
            assert_eq!(e.status, Some(400));
            assert!(!e.retryable);
        }

        #[test]
        fn the_body_gives_what_the_sdk_did_not_parse() {
            let xml = "<Error><Code>Odd</Code><Message>An &lt;odd&gt; answer</Message></Error>";
            let e = answer(400, None, None, xml);
            assert_eq!((e.code.as_deref(), e.message.as_str()), (Some("Odd"), "An <odd> answer"));
            let json = r#"{"__type": "com.amazon#Weird:http://x", "message": "weird"}"#;
            let e = answer(400, None, None, json);
            assert_eq!((e.code.as_deref(), e.message.as_str()), (Some("Weird"), "weird"));
            let e = answer(400, None, None, r#"{"Message": "only a message"}"#);
            assert_eq!((e.code, e.message.as_str(), e.status), (None, "only a message", Some(400)));
        }

        #[test]
        fn no_code_and_no_message_quote_the_body_or_say_it_is_empty() {
            let e = answer(400, None, None, "");
            assert_eq!((e.code, e.message.as_str(), e.status), (None, "", Some(400)));
            let html = "<!DOCTYPE html><html><head><title>Oops</title><style>p {}</style></head>\n<body><h1>500 Internal   Server Error</h1><p>Try&nbsp;later</p></body></html>";
            let e = answer(500, None, None, html);
            assert_eq!(e.code, None);
            assert!(e.retryable);
            assert_eq!(
                e.message,
                "the answer reads \"Oops 500 Internal Server Error Try later\"; a failure on AWS's side: the call can be retried (run the command again)"
            );
            let long = "x".repeat(1000);
            let e = answer(502, None, None, &long);
            assert!(
                e.message.starts_with(&format!("the answer reads \"{}...\"", "x".repeat(EXCERPT_CHARS))),
                "{}",
                e.message
            );
            let e = answer(400, None, None, "\u{1}\u{2}binary");
            assert_eq!(e.message, "the answer reads 8 bytes that are not text");
        }

        #[test]
        fn hints_say_what_to_do_next() {
            let e = answer(503, Some("SlowDown"), Some("Please reduce your request rate."), "");
            assert!(e.retryable);
            assert_eq!(
                e.message,
                format!("Please reduce your request rate; AWS still refused after {} attempts: run the command again later, or with a lower --parallel", crate::max_attempts())
            );
            let e = answer(403, Some("AccessDenied"), Some("Access Denied"), "");
            assert!(e.message.ends_with("check their IAM permissions"), "{}", e.message);
            let e = answer(403, Some("ExpiredToken"), Some("The token has expired"), "");
            assert!(e.message.contains("renew them"), "{}", e.message);
            // HEAD answers have no body: the status gives the code.
            let e = answer(404, None, None, "");
            assert_eq!((e.code.as_deref(), e.message.as_str()), (Some("NotFound"), ""));
        }

        #[test]
        fn transport_failures_say_what_happened_and_that_a_retry_may_work() {
            for (kind, what) in [
                (std::io::ErrorKind::ConnectionReset, "the connection was reset before an answer came"),
                (std::io::ErrorKind::ConnectionRefused, "the connection was refused"),
            ] {
                let err: SdkError<PutBucketEncryptionError, HttpResponse> =
                    SdkError::dispatch_failure(ConnectorError::io(Box::new(std::io::Error::from(kind))));
                let e = sdk_error(err);
                assert_eq!(e.message, format!("{what}; the call can be retried (run the command again)"));
                assert_eq!((e.code, e.status, e.retryable), (None, None, true));
                assert_eq!(e.operation.as_deref(), Some("PutBucketEncryption"));
            }
            let err: SdkError<PutBucketEncryptionError, HttpResponse> =
                SdkError::timeout_error(Box::new(std::io::Error::other("slow")));
            let e = sdk_error(err);
            assert_eq!(
                e.message,
                "no answer came within the time limit; the call can be retried (run the command again)"
            );
        }
    }
}
