//! Waiting for AWS: [`until`] polls until a resource settles (exists, is available, is
//! gone), reporting progress to the engine while it waits and giving up after the type's
//! timeout; [`retrying`] repeats a call that AWS refuses with a named eventual-consistency
//! error (a role that Lambda cannot assume yet) until it is accepted or the time is up.

use std::future::Future;
use std::time::Duration;

use cairn_core::provider::{OpContext, ProviderError};

/// First report after this long, then every [`REPORT_EVERY`] (short waits stay silent).
pub const FIRST_REPORT: Duration = Duration::from_secs(10);
pub const REPORT_EVERY: Duration = Duration::from_secs(30);

/// Backoff between polls: 100 ms doubling to `max_delay`.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    pub first: Duration,
    pub max_delay: Duration,
}

impl Default for Pace {
    fn default() -> Self {
        Pace { first: Duration::from_millis(100), max_delay: Duration::from_secs(5) }
    }
}

/// Poll `probe` until it gives `Some`, for at most `limit`, reporting "waiting for
/// `what`" through `ctx.progress`. An error from `probe` ends the wait at once. Timing out
/// is an error with code `WaitTimeout` naming `what` and the limit.
pub async fn until<T, F, Fut>(ctx: &OpContext, what: &str, limit: Duration, probe: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ProviderError>>,
{
    until_paced(ctx, what, limit, Pace::default(), probe).await
}

pub async fn until_paced<T, F, Fut>(
    ctx: &OpContext,
    what: &str,
    limit: Duration,
    pace: Pace,
    mut probe: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ProviderError>>,
{
    let start = tokio::time::Instant::now();
    let mut delay = pace.first;
    let mut next_report = FIRST_REPORT;
    loop {
        if let Some(v) = probe().await? {
            return Ok(v);
        }
        let elapsed = start.elapsed();
        if elapsed + delay > limit {
            return Err(timed_out(what, limit));
        }
        if elapsed >= next_report {
            ctx.progress.waiting(what, elapsed);
            next_report = elapsed + REPORT_EVERY;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(pace.max_delay);
    }
}

fn timed_out(what: &str, limit: Duration) -> ProviderError {
    ProviderError {
        code: Some("WaitTimeout".into()),
        message: format!(
            "gave up after {} waiting for {what}; it may still finish: run `cairn refresh` to see where it stands, then `cairn up` again",
            human(limit)
        ),
        retryable: true,
        ..Default::default()
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// An error AWS gives while a change elsewhere is not visible yet: its code, and (when the
/// code alone is too broad) a fragment of its message.
#[derive(Clone, Copy, Debug)]
pub struct Transient {
    pub code: &'static str,
    pub message_contains: Option<&'static str>,
    /// What the call waits for, for progress and the timeout error ("the role to be
    /// assumable by Lambda").
    pub waiting_for: &'static str,
}

impl Transient {
    pub fn matches(&self, e: &ProviderError) -> bool {
        e.code.as_deref() == Some(self.code)
            && self.message_contains.is_none_or(|m| e.message.to_ascii_lowercase().contains(&m.to_ascii_lowercase()))
    }
}

/// Run `call`, and again (with backoff) while it fails with one of the `transient` errors,
/// for at most `limit`. The last error is returned when time is up, with a note saying how
/// long cairn retried.
pub async fn retrying<T, F, Fut>(
    ctx: &OpContext,
    transient: &[Transient],
    limit: Duration,
    mut call: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let start = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(500);
    let mut next_report = FIRST_REPORT;
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                let Some(t) = transient.iter().find(|t| t.matches(&e)) else { return Err(e) };
                let elapsed = start.elapsed();
                if elapsed + delay > limit {
                    let mut e = e;
                    e.message = format!("{} (retried for {} waiting for {})", e.message, human(elapsed), t.waiting_for);
                    return Err(e);
                }
                if elapsed >= next_report {
                    ctx.progress.waiting(t.waiting_for, elapsed);
                    next_report = elapsed + REPORT_EVERY;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use cairn_core::provider::ProgressSink;

    use super::*;

    type Log = Arc<Mutex<Vec<(String, u64)>>>;

    fn ctx_with_log() -> (OpContext, Log) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut ctx = crate::test_ctx("AWS::RDS::DBInstance", "Db");
        let l = log.clone();
        ctx.progress =
            ProgressSink::new(move |what, elapsed| l.lock().unwrap().push((what.to_string(), elapsed.as_secs())));
        (ctx, log)
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_wait_reports_progress_then_gives_up() {
        let (ctx, log) = ctx_with_log();
        let err = until(&ctx, "DBInstance to be available", Duration::from_secs(120), || async {
            Ok::<Option<()>, ProviderError>(None)
        })
        .await
        .unwrap_err();
        assert_eq!(err.code.as_deref(), Some("WaitTimeout"));
        assert!(err.message.contains("gave up after 2m waiting for DBInstance to be available"), "{}", err.message);
        let log = log.lock().unwrap();
        let times: Vec<u64> = log.iter().map(|(_, s)| *s).collect();
        assert!(log.iter().all(|(w, _)| w == "DBInstance to be available"));
        // First after 10 s, then every 30 s.
        assert!(times.len() >= 3 && times[0] >= 10 && times[0] < 16, "{times:?}");
        assert!(times.windows(2).all(|w| w[1] - w[0] >= 30), "{times:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_wait_is_silent() {
        let (ctx, log) = ctx_with_log();
        let mut n = 0;
        let v = until(&ctx, "x", Duration::from_secs(60), || {
            n += 1;
            let done = n >= 3;
            async move { Ok::<_, ProviderError>(done.then_some(7)) }
        })
        .await
        .unwrap();
        assert_eq!(v, 7);
        assert!(log.lock().unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn retries_only_the_named_errors() {
        let (ctx, _) = ctx_with_log();
        let role = Transient {
            code: "InvalidParameterValueException",
            message_contains: Some("cannot be assumed"),
            waiting_for: "the role to be assumable by Lambda",
        };
        let mut n = 0;
        let v = retrying(&ctx, &[role], Duration::from_secs(60), || {
            n += 1;
            let fail = n < 3;
            async move {
                if fail {
                    Err(ProviderError::with_code(
                        "InvalidParameterValueException",
                        "The role defined for the function cannot be assumed by Lambda.",
                    ))
                } else {
                    Ok(n)
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(v, 3);
        // Another message with the same code is not retried.
        let mut m = 0;
        let e = retrying(&ctx, &[role], Duration::from_secs(60), || {
            m += 1;
            async { Err::<(), _>(ProviderError::with_code("InvalidParameterValueException", "Runtime is wrong")) }
        })
        .await
        .unwrap_err();
        assert_eq!((m, e.message.as_str()), (1, "Runtime is wrong"));
        // Time up: the last error, saying how long.
        let e = retrying(&ctx, &[role], Duration::from_secs(20), || async {
            Err::<(), _>(ProviderError::with_code("InvalidParameterValueException", "cannot be assumed"))
        })
        .await
        .unwrap_err();
        assert!(e.message.contains("waiting for the role to be assumable by Lambda"), "{}", e.message);
    }
}
