//! `Cairn::Time::Sleep`: waits when it is created and when it is deleted, like Terraform's
//! `time_sleep`. Put it between two resources (the second `DependsOn` it) to give an
//! eventually consistent service time to settle, e.g. a new IAM role before a Lambda
//! function that assumes it.
//!
//! | property | type | default |
//! | --- | --- | --- |
//! | `CreateDuration` | string: a Go-style duration (`30s`, `1m30s`, `500ms`, `2h`) to wait on create | `0s` |
//! | `DestroyDuration` | string: a Go-style duration to wait on delete | `0s` |
//! | `Triggers` | mapping, create-only: any change replaces the sleep (and so waits again) | |
//!
//! Changing a duration updates the resource in place without waiting.
//! `equivalent` treats two spellings of one duration (`60s`, `1m`) as the same.
//!
//! - `Ref`: the creation time in RFC 3339 with a short random suffix
//!   (`2026-03-01T12:00:00Z-4f2a9c`).
//! - `Fn::GetAtt`: none.
//!
//! The sleep exists only in cairn's state: `read` gives back what was stored and `find`
//! has nothing to find.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use serde_json::Value as Json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::provider::{
    check_against_schema, About, CheckFailure, OpContext, ProviderError, ReadResult, ResourceData, ResourceType,
    TypeSchema,
};
use crate::value::Value;

pub const TYPE_NAME: &str = "Cairn::Time::Sleep";

static SCHEMA: LazyLock<TypeSchema> = LazyLock::new(|| TypeSchema {
    type_name: TYPE_NAME.to_string(),
    properties: BTreeMap::from([
        ("CreateDuration".to_string(), "string"),
        ("DestroyDuration".to_string(), "string"),
        ("Triggers".to_string(), "object"),
    ]),
    create_only: vec!["Triggers".to_string()],
    ..TypeSchema::default()
});

const DURATION_PROPERTIES: [&str; 2] = ["CreateDuration", "DestroyDuration"];

/// The `Cairn::Time::Sleep` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sleep;

#[async_trait]
impl ResourceType for Sleep {
    fn schema(&self) -> &TypeSchema {
        &SCHEMA
    }

    fn about(&self) -> About {
        // cairn's own type: the engine tests cover it, not the emulator suite.
        About { reference: "the creation time, with a random suffix".into(), conformance: None }
    }

    fn check(&self, properties: &Value) -> Vec<CheckFailure> {
        let mut out = check_against_schema(self.schema(), properties);
        let Some(map) = properties.as_map() else { return out };
        for name in DURATION_PROPERTIES {
            // Unknown values, and values of the wrong type (reported above), are skipped.
            let Some(text) = map.get(name).and_then(Value::to_cfn_string) else { continue };
            if let Err(message) = parse_duration(&text) {
                out.push(CheckFailure { path: name.to_string(), message });
            }
        }
        out
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        old == new
            || (DURATION_PROPERTIES.contains(&property)
                && matches!((duration_of(old), duration_of(new)), (Ok(a), Ok(b)) if a == b))
    }

    async fn create(&self, _ctx: &OpContext, properties: &Json) -> Result<ResourceData, ProviderError> {
        let wait = duration_prop(properties, "CreateDuration")?;
        duration_prop(properties, "DestroyDuration")?;
        tokio::time::sleep(wait).await;
        Ok(ResourceData { physical_id: new_physical_id()?, attributes: BTreeMap::new() })
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        physical_id: &str,
        properties: &Json,
    ) -> Result<Option<ReadResult>, ProviderError> {
        Ok(Some(ReadResult {
            data: ResourceData { physical_id: physical_id.to_string(), attributes: BTreeMap::new() },
            properties: properties.clone(),
        }))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        physical_id: &str,
        _old: &Json,
        new: &Json,
    ) -> Result<ResourceData, ProviderError> {
        for name in DURATION_PROPERTIES {
            duration_prop(new, name)?;
        }
        Ok(ResourceData { physical_id: physical_id.to_string(), attributes: BTreeMap::new() })
    }

    async fn delete(&self, _ctx: &OpContext, _physical_id: &str, properties: &Json) -> Result<(), ProviderError> {
        tokio::time::sleep(duration_prop(properties, "DestroyDuration")?).await;
        Ok(())
    }

    async fn find(&self, _ctx: &OpContext, _properties: &Json) -> Result<Option<ResourceData>, ProviderError> {
        Ok(None)
    }
}

/// A duration property of the call's properties (absent: zero).
fn duration_prop(properties: &Json, name: &str) -> Result<Duration, ProviderError> {
    duration_of(properties.get(name).unwrap_or(&Json::Null))
        .map_err(|message| ProviderError::with_code("InvalidRequest", format!("{name}: {message}")))
}

/// A duration from JSON: null is zero, a string (or a bare `0`) is parsed.
fn duration_of(value: &Json) -> Result<Duration, String> {
    match value {
        Json::Null => Ok(Duration::ZERO),
        Json::String(s) => parse_duration(s),
        Json::Number(n) => parse_duration(&n.to_string()),
        other => Err(format!("expected a duration like 30s, found {other}")),
    }
}

/// `{RFC 3339 time, whole seconds}-{6 random hex digits}`.
fn new_physical_id() -> Result<String, ProviderError> {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let stamp =
        now.format(&Rfc3339).map_err(|e| ProviderError::new(format!("cannot format the creation time: {e}")))?;
    let suffix: u32 = rand::rng().random_range(0..0x100_0000);
    Ok(format!("{stamp}-{suffix:06x}"))
}

/// Parse a duration as Go's `time.ParseDuration` does: one or more decimal numbers, each
/// with an optional fraction and a unit (`ns`, `us` or `µs`, `ms`, `s`, `m`, `h`), such as
/// `30s`, `1m30s`, `1.5h` or `500ms`; a lone `0` is zero. Negative durations are refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let expected = || format!("invalid duration {text:?}: expected a number and a unit, like 30s, 1m30s, 500ms or 2h");
    if text.starts_with('-') {
        return Err(format!("invalid duration {text:?}: a duration cannot be negative"));
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(expected());
    }
    let too_long = || format!("invalid duration {text:?}: too long");
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (whole, after) = split_digits(rest);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => split_digits(after),
            None => ("", after),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(expected());
        }
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("invalid duration {text:?}: a unit is missing (ns, us, ms, s, m or h)")),
            other => {
                return Err(format!(
                    "invalid duration {text:?}: unknown unit `{other}` (expected ns, us, ms, s, m or h)"
                ))
            }
        };
        let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| too_long())? };
        // Digits beyond nanosecond precision of the largest unit do not matter.
        let fraction = &fraction[..fraction.len().min(18)];
        let fraction_nanos = if fraction.is_empty() {
            0
        } else {
            fraction.parse::<u128>().map_err(|_| expected())? * unit_nanos / 10u128.pow(fraction.len() as u32)
        };
        total = whole
            .checked_mul(unit_nanos)
            .and_then(|n| n.checked_add(fraction_nanos))
            .and_then(|n| n.checked_add(total))
            .ok_or_else(too_long)?;
        rest = after;
    }
    u64::try_from(total).map(Duration::from_nanos).map_err(|_| too_long())
}

/// The leading ASCII digits of `s`, and the rest.
fn split_digits(s: &str) -> (&str, &str) {
    s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tokio::time::Instant;

    use super::*;

    #[test]
    fn parses_go_durations() {
        let ms = Duration::from_millis;
        for (text, expected) in [
            ("30s", ms(30_000)),
            ("1m30s", ms(90_000)),
            ("500ms", ms(500)),
            ("2h", ms(7_200_000)),
            ("1.5h", ms(5_400_000)),
            (".5s", ms(500)),
            ("1.s", ms(1_000)),
            ("+5s", ms(5_000)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("1h2m3s4ms5us6ns", Duration::new(3_723, 4_005_006)),
            ("3µs", Duration::from_micros(3)),
            ("0.000000001s", Duration::from_nanos(1)),
        ] {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rejects_malformed_durations() {
        for (text, message) in [
            ("", "invalid duration \"\": expected a number and a unit, like 30s, 1m30s, 500ms or 2h"),
            ("abc", "invalid duration \"abc\": expected a number and a unit, like 30s, 1m30s, 500ms or 2h"),
            (".s", "invalid duration \".s\": expected a number and a unit, like 30s, 1m30s, 500ms or 2h"),
            ("30", "invalid duration \"30\": a unit is missing (ns, us, ms, s, m or h)"),
            ("1m30", "invalid duration \"1m30\": a unit is missing (ns, us, ms, s, m or h)"),
            ("5d", "invalid duration \"5d\": unknown unit `d` (expected ns, us, ms, s, m or h)"),
            ("-5s", "invalid duration \"-5s\": a duration cannot be negative"),
            ("99999999999999999999h", "invalid duration \"99999999999999999999h\": too long"),
        ] {
            assert_eq!(parse_duration(text), Err(message.to_string()), "{text}");
        }
    }

    #[test]
    fn check_reports_bad_durations_by_property() {
        let props =
            Value::from_json(&json!({"CreateDuration": "10x", "DestroyDuration": "5s", "Triggers": {"a": "b"}}));
        let failures = Sleep.check(&props);
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].path, "CreateDuration");
        assert_eq!(failures[0].message, "invalid duration \"10x\": unknown unit `x` (expected ns, us, ms, s, m or h)");

        let unknown = Value::Map(BTreeMap::from([("CreateDuration".to_string(), Value::Unknown)]));
        assert!(Sleep.check(&unknown).is_empty());
        assert_eq!(
            Sleep.check(&Value::from_json(&json!({"Triggers": "x"})))[0].message,
            "expected a mapping, found a string"
        );
    }

    #[test]
    fn equivalent_durations() {
        assert!(Sleep.equivalent("CreateDuration", &json!("60s"), &json!("1m")));
        assert!(Sleep.equivalent("DestroyDuration", &Json::Null, &json!("0s")));
        assert!(!Sleep.equivalent("CreateDuration", &json!("60s"), &json!("61s")));
        assert!(!Sleep.equivalent("Triggers", &json!({"a": "1"}), &json!({"a": "2"})));
    }

    #[tokio::test(start_paused = true)]
    async fn create_sleeps_the_create_duration() {
        let ctx = crate::builtin::test_ctx(TYPE_NAME, "Wait");
        let props = json!({"CreateDuration": "1m30s", "DestroyDuration": "10s"});
        let start = Instant::now();
        let data = Sleep.create(&ctx, &props).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(90));
        assert!(data.attributes.is_empty());
        let (stamp, suffix) = data.physical_id.rsplit_once('-').unwrap();
        assert!(OffsetDateTime::parse(stamp, &Rfc3339).is_ok(), "{}", data.physical_id);
        assert_eq!(suffix.len(), 6);

        // A create that is not given its time does not finish.
        let early = tokio::time::timeout(Duration::from_secs(89), Sleep.create(&ctx, &props)).await;
        assert!(early.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn delete_sleeps_and_update_does_not() {
        let ctx = crate::builtin::test_ctx(TYPE_NAME, "Wait");
        let old = json!({"CreateDuration": "1s", "DestroyDuration": "10s"});
        let new = json!({"CreateDuration": "2h", "DestroyDuration": "250ms"});

        let start = Instant::now();
        let data = Sleep.update(&ctx, "id-1", &old, &new).await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(data.physical_id, "id-1");

        let start = Instant::now();
        Sleep.delete(&ctx, "id-1", &new).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(250));

        let err = Sleep.update(&ctx, "id-1", &old, &json!({"CreateDuration": "soon"})).await.unwrap_err();
        assert_eq!(err.code.as_deref(), Some("InvalidRequest"));
        assert!(err.message.starts_with("CreateDuration: invalid duration \"soon\""), "{}", err.message);
    }

    #[tokio::test]
    async fn lives_only_in_state() {
        let ctx = crate::builtin::test_ctx(TYPE_NAME, "Wait");
        let props = json!({"Triggers": {"version": "3"}});
        let read = Sleep.read(&ctx, "id-1", &props).await.unwrap().unwrap();
        assert_eq!(read.data.physical_id, "id-1");
        assert_eq!(read.properties, props);
        assert_eq!(Sleep.find(&ctx, &props).await.unwrap(), None);
        assert_eq!(Sleep.schema().create_only, ["Triggers"]);
    }
}
