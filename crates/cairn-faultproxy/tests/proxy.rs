//! The proxy end to end: byte-for-byte relaying (chunked bodies, answers that run to the end
//! of the connection) against a scripted upstream, and, against the emulator through the
//! AWS SDK, that each protocol's injected throttling, 5xx and resets are what the SDK
//! retries, that a lost answer's call took effect, and the control endpoint.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use cairn_faultproxy::{Config, Fault, Lost, Proxy, Rule};

/// An upstream that answers one connection: it records the request's bytes (until
/// `request_end` is seen) and sends `answer`, then closes.
fn scripted_upstream(request_end: &'static [u8], answer: &'static [u8]) -> (String, std::thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let t = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.ends_with(request_end) {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "the request ended early: {:?}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        s.write_all(answer).unwrap();
        got
    });
    (url, t)
}

fn raw_exchange(url: &str, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[test]
fn chunked_requests_and_unframed_answers_are_relayed_byte_for_byte() {
    let request: &[u8] = b"PUT /b/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n";
    let answer: &[u8] = b"HTTP/1.1 200 OK\r\nX-Thing: 1\r\n\r\nno length: the body runs to the end";
    let (upstream, t) = scripted_upstream(b"x-trailer: 1\r\n\r\n", answer);
    let proxy = Proxy::start(Config::new(&upstream)).unwrap();
    let got = raw_exchange(&proxy.url(), request);
    assert_eq!(t.join().unwrap(), request);
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(answer));
    let c = proxy.counts();
    assert_eq!((c.requests, c.forwarded, c.injected()), (1, 1, 0));
}

#[test]
fn a_reset_forwards_nothing_and_a_lost_answer_forwards_the_call() {
    let mut config = Config::new("http://127.0.0.1:9");
    config.rules.push(Rule::new("CreateBucket", 1, Fault::Reset));
    let proxy = Proxy::start(config).unwrap();
    // Port 9 (discard) is not listening: had the proxy forwarded, it would answer 502.
    let got = raw_exchange(&proxy.url(), b"PUT /data HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    assert!(got.is_empty(), "a reset sends no answer: {:?}", String::from_utf8_lossy(&got));
    assert_eq!(proxy.counts().resets, 1);
    assert_eq!(proxy.counts().by_operation["CreateBucket"]["reset"], 1);

    let (upstream, t) = scripted_upstream(b"\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let mut config = Config::new(&upstream);
    config.rules.push(Rule::new("CreateBucket", 1, Fault::LoseAnswer { then: Lost::ServerError }));
    let proxy = Proxy::start(config).unwrap();
    let got = raw_exchange(&proxy.url(), b"PUT /data HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(t.join().unwrap().starts_with(b"PUT /data HTTP/1.1\r\n"), "the call reached upstream");
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 500 "), "{got}");
    assert!(got.contains("<Code>InternalError</Code>"), "{got}");
    let c = proxy.counts();
    assert_eq!((c.forwarded, c.lost_answers), (1, 1));
}

#[test]
fn the_control_endpoint_takes_rules_and_gives_counts() {
    let proxy = Proxy::start(Config::new("http://127.0.0.1:9")).unwrap();
    let rule = r#"{"operation": "ListBuckets", "times": 2, "fault": {"kind": "throttle"}}"#;
    let post = format!(
        "POST /__faultproxy/rules HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{rule}",
        rule.len()
    );
    let got = String::from_utf8(raw_exchange(&proxy.url(), post.as_bytes())).unwrap();
    assert!(got.starts_with("HTTP/1.1 200") && got.ends_with(r#"{"added":1}"#), "{got}");
    let got = String::from_utf8(raw_exchange(&proxy.url(), b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        .unwrap();
    assert!(got.starts_with("HTTP/1.1 503 ") && got.contains("<Code>SlowDown</Code>"), "{got}");
    let got = String::from_utf8(raw_exchange(
        &proxy.url(),
        b"GET /__faultproxy/counts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ))
    .unwrap();
    let body = got.split("\r\n\r\n").nth(1).unwrap();
    let counts: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(counts["throttled"], 1);
    assert_eq!(counts["requests"], 1);
    assert_eq!(counts["by_operation"]["ListBuckets"]["throttled"], 1);
}

/// The emulator's URL, or `None` (after saying so) when `AWS_ENDPOINT_URL` is unset.
fn emulator() -> Option<String> {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(std::env::var_os("CAIRN_REQUIRE_EMULATOR").is_none(), "AWS_ENDPOINT_URL is not set");
            eprintln!("skipping: AWS_ENDPOINT_URL not set");
            None
        }
    }
}

struct Clients {
    s3: aws_sdk_s3::Client,
    iam: aws_sdk_iam::Client,
    kms: aws_sdk_kms::Client,
    ec2: aws_sdk_ec2::Client,
}

async fn clients(url: &str, attempts: u32) -> Clients {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(url)
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .load()
        .await;
    Clients {
        s3: aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build()),
        iam: aws_sdk_iam::Client::new(&config),
        kms: aws_sdk_kms::Client::new(&config),
        ec2: aws_sdk_ec2::Client::new(&config),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn each_protocol_throttles_in_its_own_format() {
    let Some(url) = emulator() else { return };
    let mut config = Config::new(&url);
    for op in ["ListBuckets", "ListRoles", "ListKeys"] {
        config.rules.push(Rule::new(op, 1, Fault::Throttle));
    }
    let proxy = Proxy::start(config).unwrap();
    rt().block_on(async {
        // One attempt: the SDK reads each throttling answer's code.
        let once = clients(&proxy.url(), 1).await;
        let e = once.s3.list_buckets().send().await.unwrap_err();
        assert_eq!((e.code(), e.raw_response().map(|r| r.status().as_u16())), (Some("SlowDown"), Some(503)));
        let e = once.iam.list_roles().send().await.unwrap_err();
        assert_eq!((e.code(), e.raw_response().map(|r| r.status().as_u16())), (Some("Throttling"), Some(400)));
        let e = once.kms.list_keys().send().await.unwrap_err();
        assert_eq!(e.code(), Some("ThrottlingException"));
        // With retries, the SDK rides them out.
        for op in ["ListBuckets", "ListRoles", "ListKeys"] {
            proxy.add_rule(Rule::new(op, 1, Fault::Throttle));
        }
        let retrying = clients(&proxy.url(), 3).await;
        retrying.s3.list_buckets().send().await.expect("ListBuckets after a throttle");
        retrying.iam.list_roles().send().await.expect("ListRoles after a throttle");
        retrying.kms.list_keys().send().await.expect("ListKeys after a throttle");
    });
    assert_eq!(proxy.counts().throttled, 6);
}

#[test]
fn ec2_errors_are_spelled_as_ec2_spells_them() {
    let Some(url) = emulator() else { return };
    let mut config = Config::new(&url);
    config.rules.push(Rule::new(
        "DescribeVpcs",
        1,
        Fault::Refuse { status: 403, code: "UnauthorizedOperation".into(), message: "You are not authorized".into() },
    ));
    config.rules.push(Rule::new("DescribeVpcs", 1, Fault::Throttle));
    let proxy = Proxy::start(config).unwrap();
    rt().block_on(async {
        let once = clients(&proxy.url(), 1).await;
        // aws-sdk-ec2 reads the code and message of EC2's `<Response><Errors><Error>`.
        let e = once.ec2.describe_vpcs().send().await.unwrap_err();
        assert_eq!(
            (e.code(), e.message(), e.raw_response().map(|r| r.status().as_u16())),
            (Some("UnauthorizedOperation"), Some("You are not authorized"), Some(403))
        );
        let e = once.ec2.describe_vpcs().send().await.unwrap_err();
        assert_eq!(
            (e.code(), e.raw_response().map(|r| r.status().as_u16())),
            (Some("RequestLimitExceeded"), Some(503))
        );
        // The SDK retries EC2's throttling error.
        proxy.add_rule(Rule::new("DescribeVpcs", 1, Fault::Throttle));
        clients(&proxy.url(), 3).await.ec2.describe_vpcs().send().await.expect("DescribeVpcs after a throttle");
    });
    let counts = proxy.counts();
    assert_eq!((counts.refused, counts.throttled), (1, 2), "{counts}");
}

#[test]
fn server_errors_and_resets_are_retried() {
    let Some(url) = emulator() else { return };
    let mut config = Config::new(&url);
    config.rules.push(Rule::new("ListBuckets", 1, Fault::Reset));
    config.rules.push(Rule::new("ListBuckets", 1, Fault::ServerError { status: None }));
    config.rules.push(Rule::new("ListRoles", 1, Fault::ServerError { status: Some(503) }));
    config.rules.push(Rule::new("ListKeys", 1, Fault::Reset));
    let proxy = Proxy::start(config).unwrap();
    rt().block_on(async {
        let c = clients(&proxy.url(), 3).await;
        c.s3.list_buckets().send().await.expect("ListBuckets after a reset and a 500");
        c.iam.list_roles().send().await.expect("ListRoles after a 503");
        c.kms.list_keys().send().await.expect("ListKeys after a reset");
    });
    let counts = proxy.counts();
    assert_eq!((counts.resets, counts.server_errors), (2, 2), "{counts}");
}

#[test]
fn a_lost_answer_took_effect() {
    let Some(url) = emulator() else { return };
    let bucket = format!("faultproxy-lost-{}", std::process::id());
    let mut config = Config::new(&url);
    config.rules.push(Rule::new("CreateBucket", 1, Fault::LoseAnswer { then: Lost::Reset }));
    let proxy = Proxy::start(config).unwrap();
    rt().block_on(async {
        let through = clients(&proxy.url(), 1).await;
        let e = through.s3.create_bucket().bucket(&bucket).send().await.unwrap_err();
        assert!(matches!(e, aws_sdk_s3::error::SdkError::DispatchFailure(_)), "no answer came: {e:?}");
        let direct = clients(&url, 1).await;
        direct.s3.head_bucket().bucket(&bucket).send().await.expect("the bucket was created all the same");
        direct.s3.delete_bucket().bucket(&bucket).send().await.expect("DeleteBucket");
    });
    assert_eq!(proxy.counts().lost_answers, 1);
}
