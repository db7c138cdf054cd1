//! `Cairn::Random::String`: a random string made once, when the resource is created, and
//! kept in the stack's state, like Terraform's `random_string` and `random_password`. Use
//! it for passwords, tokens and name suffixes.
//!
//! | property | type | default |
//! | --- | --- | --- |
//! | `Length` | integer, required, 1 to 1024 | |
//! | `Upper`, `Lower`, `Numeric`, `Special` | boolean: use this class of characters | `true` |
//! | `MinUpper`, `MinLower`, `MinNumeric`, `MinSpecial` | integer: at least this many of the class | `0` |
//! | `OverrideSpecial` | string: the special characters to use | `!@#$%&*()-_=+[]{}<>:?` |
//! | `Keepers` | mapping of strings: any change makes a new string | |
//!
//! Every property is create-only: changing any of them replaces the resource, that is,
//! makes a new string. Numbers and booleans may also be written as strings (`"16"`,
//! `"true"`), as CloudFormation passes parameters; `equivalent` treats both
//! spellings, and an absent property and its default, as the same value, so respelling a
//! property never regenerates the string.
//!
//! - `Ref`: the string.
//! - `Fn::GetAtt`: `Result`, the string.
//!
//! The string exists only in cairn's state: `read` gives back what was stored, `delete` has
//! nothing to delete and `find` nothing to find. Characters come from `rand::rng()`, a
//! CSPRNG seeded from the operating system.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::Value as Json;

use crate::provider::{
    check_against_schema, About, CheckFailure, OpContext, ProviderError, ReadResult, ResourceData, ResourceType,
    TypeSchema,
};
use crate::value::Value;

pub const TYPE_NAME: &str = "Cairn::Random::String";

/// The special characters used unless `OverrideSpecial` gives others.
pub const DEFAULT_SPECIAL: &str = "!@#$%&*()-_=+[]{}<>:?";

/// The longest string `Length` may ask for.
pub const MAX_LENGTH: i64 = 1024;

static SCHEMA: LazyLock<TypeSchema> = LazyLock::new(|| {
    let properties: BTreeMap<String, &'static str> = [
        ("Length", "integer"),
        ("Upper", "boolean"),
        ("Lower", "boolean"),
        ("Numeric", "boolean"),
        ("Special", "boolean"),
        ("MinUpper", "integer"),
        ("MinLower", "integer"),
        ("MinNumeric", "integer"),
        ("MinSpecial", "integer"),
        ("OverrideSpecial", "string"),
        ("Keepers", "object"),
    ]
    .into_iter()
    .map(|(name, ty)| (name.to_string(), ty))
    .collect();
    TypeSchema {
        type_name: TYPE_NAME.to_string(),
        required: vec!["Length".to_string()],
        // Every property: any change means a new string.
        create_only: properties.keys().cloned().collect(),
        attributes: vec!["Result".to_string()],
        properties,
        ..TypeSchema::default()
    }
});

/// The `Cairn::Random::String` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomString;

#[async_trait]
impl ResourceType for RandomString {
    fn schema(&self) -> &TypeSchema {
        &SCHEMA
    }

    fn about(&self) -> About {
        // cairn's own type: the engine tests cover it, not the emulator suite.
        About { reference: "the string".into(), conformance: None }
    }

    fn check(&self, properties: &Value) -> Vec<CheckFailure> {
        let mut out = check_against_schema(self.schema(), properties);
        // Values of the wrong type were reported above and read as unknown below.
        out.extend(keepers_failures(properties));
        out.extend(Settings::read(properties).failures());
        out
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        old == new || matches!((normalise(property, old), normalise(property, new)), (Some(a), Some(b)) if a == b)
    }

    async fn create(&self, _ctx: &OpContext, properties: &Json) -> Result<ResourceData, ProviderError> {
        let spec = spec_from_json(properties)?;
        Ok(resource_data(generate(&spec, &mut rand::rng())))
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        physical_id: &str,
        properties: &Json,
    ) -> Result<Option<ReadResult>, ProviderError> {
        Ok(Some(ReadResult { data: resource_data(physical_id.to_string()), properties: properties.clone() }))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        _physical_id: &str,
        _old: &Json,
        _new: &Json,
    ) -> Result<ResourceData, ProviderError> {
        Err(ProviderError::with_code(
            "NotUpdatable",
            format!("every property of `{TYPE_NAME}` is create-only: a change makes a new string (a replacement), never an update"),
        ))
    }

    async fn delete(&self, _ctx: &OpContext, _physical_id: &str, _properties: &Json) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn find(&self, _ctx: &OpContext, _properties: &Json) -> Result<Option<ResourceData>, ProviderError> {
        Ok(None)
    }
}

fn resource_data(result: String) -> ResourceData {
    ResourceData {
        attributes: BTreeMap::from([("Result".to_string(), Value::String(result.clone()))]),
        physical_id: result,
    }
}

/// A class of characters and the properties that enable it and set its minimum count.
struct Class {
    enabled: &'static str,
    min: &'static str,
    /// The class's characters (`OverrideSpecial` replaces those of `Special`).
    chars: &'static str,
}

static CLASSES: [Class; 4] = [
    Class { enabled: "Upper", min: "MinUpper", chars: "ABCDEFGHIJKLMNOPQRSTUVWXYZ" },
    Class { enabled: "Lower", min: "MinLower", chars: "abcdefghijklmnopqrstuvwxyz" },
    Class { enabled: "Numeric", min: "MinNumeric", chars: "0123456789" },
    Class { enabled: "Special", min: "MinSpecial", chars: DEFAULT_SPECIAL },
];

/// The properties as far as they are known. `None` means known only after `up`, or of the
/// wrong type (which the schema check reports).
struct Settings {
    length: Option<i64>,
    classes: [ClassSettings; 4],
}

struct ClassSettings {
    class: &'static Class,
    enabled: Option<bool>,
    min: Option<i64>,
    /// The characters to draw from, without repeats.
    chars: Option<Vec<char>>,
}

impl ClassSettings {
    /// Whether the class adds characters to draw from.
    fn usable(&self) -> Option<bool> {
        match (self.enabled?, &self.chars) {
            (false, _) => Some(false),
            (true, chars) => Some(!chars.as_ref()?.is_empty()),
        }
    }
}

/// Fully known, valid settings. Invariants (upheld by [`Settings::spec`] after
/// [`Settings::failures`] found nothing): at least one pool, no pool empty, the minimums
/// add up to at most `length`.
#[derive(Debug)]
struct Spec {
    length: usize,
    pools: Vec<Pool>,
}

#[derive(Debug)]
struct Pool {
    chars: Vec<char>,
    min: usize,
}

impl Settings {
    fn read(properties: &Value) -> Settings {
        let empty = BTreeMap::new();
        let map = properties.as_map().unwrap_or(&empty);
        let special: Option<Vec<char>> = match map.get("OverrideSpecial").map(Value::reveal) {
            None | Some(Value::Null) => Some(DEFAULT_SPECIAL.chars().collect()),
            Some(v) => v.to_cfn_string().map(|s| s.chars().collect()),
        };
        let classes = CLASSES.each_ref().map(|class| ClassSettings {
            class,
            enabled: bool_prop(map, class.enabled, true),
            min: int_prop(map, class.min, Some(0)),
            chars: match class.enabled {
                "Special" => special.clone().map(without_repeats),
                _ => Some(class.chars.chars().collect()),
            },
        });
        Settings { length: int_prop(map, "Length", None), classes }
    }

    /// The rules beyond the schema, checked as far as the values are known.
    fn failures(&self) -> Vec<CheckFailure> {
        let mut out = Vec::new();
        if let Some(length) = self.length {
            if !(1..=MAX_LENGTH).contains(&length) {
                out.push(failure("Length", format!("`Length` must be between 1 and {MAX_LENGTH}, found {length}")));
            }
        }
        for c in &self.classes {
            let (name, min_name) = (c.class.enabled, c.class.min);
            match c.min {
                Some(min) if min < 0 => out.push(failure(min_name, format!("`{min_name}` must be 0 or more, found {min}"))),
                Some(min) if min > 0 && c.enabled == Some(false) => out.push(failure(
                    min_name,
                    format!("`{min_name}` is {min} but `{name}` is false: set `{name}` to true or `{min_name}` to 0"),
                )),
                Some(min) if min > 0 && c.usable() == Some(false) => out.push(failure(
                    min_name,
                    format!("`{min_name}` is {min} but `OverrideSpecial` is empty: there are no special characters to choose from"),
                )),
                _ => {}
            }
        }
        if self.classes.iter().all(|c| c.usable() == Some(false)) {
            let mut message =
                "no characters to choose from: at least one of `Upper`, `Lower`, `Numeric` and `Special` must be true"
                    .to_string();
            if self.classes.iter().any(|c| c.enabled == Some(true)) {
                message.push_str(" (and `Special` needs a non-empty `OverrideSpecial`)");
            }
            out.push(failure("", message));
        }
        let mins: Option<Vec<i64>> = self.classes.iter().map(|c| c.min).collect();
        if let (Some(length), Some(mins)) = (self.length, mins) {
            let sum: i64 = mins.iter().filter(|m| **m > 0).sum();
            if sum > length {
                let terms: Vec<String> = self
                    .classes
                    .iter()
                    .zip(&mins)
                    .filter(|(_, m)| **m > 0)
                    .map(|(c, m)| format!("`{}` {m}", c.class.min))
                    .collect();
                out.push(failure(
                    "",
                    format!(
                        "the minimum counts need {sum} characters ({}) but `Length` is {length}",
                        terms.join(" + ")
                    ),
                ));
            }
        }
        out
    }

    /// The settings to generate from; `None` while anything is unknown or invalid.
    fn spec(&self) -> Option<Spec> {
        if !self.failures().is_empty() {
            return None;
        }
        let length = usize::try_from(self.length?).ok()?;
        let mut pools = Vec::new();
        for c in &self.classes {
            if c.usable()? {
                pools.push(Pool { chars: c.chars.clone()?, min: usize::try_from(c.min?).ok()? });
            }
        }
        Some(Spec { length, pools })
    }
}

/// `Keepers` is a mapping whose values are strings (numbers and booleans read as strings).
fn keepers_failures(properties: &Value) -> Vec<CheckFailure> {
    let Some(keepers) = properties.as_map().and_then(|m| m.get("Keepers")).and_then(Value::as_map) else {
        return Vec::new();
    };
    keepers
        .iter()
        .filter(|(_, v)| !v.contains_unknown() && v.to_cfn_string().is_none())
        .map(|(k, v)| failure(&format!("Keepers.{k}"), format!("expected a string, found {}", v.kind())))
        .collect()
}

fn spec_from_json(properties: &Json) -> Result<Spec, ProviderError> {
    let properties = Value::from_json(properties);
    let failures = RandomString.check(&properties);
    if !failures.is_empty() {
        let messages: Vec<String> = failures
            .iter()
            .map(|f| if f.path.is_empty() { f.message.clone() } else { format!("{}: {}", f.path, f.message) })
            .collect();
        return Err(ProviderError::with_code("InvalidRequest", messages.join("; ")));
    }
    Settings::read(&properties).spec().ok_or_else(|| {
        ProviderError::with_code("InvalidRequest", format!("the properties of `{TYPE_NAME}` are incomplete"))
    })
}

/// Draw the string: first each pool's minimum from that pool, then the rest from all pools
/// together, then shuffle so that the guaranteed characters are not all at the front.
fn generate<R: Rng + ?Sized>(spec: &Spec, rng: &mut R) -> String {
    let all: Vec<char> = spec.pools.iter().flat_map(|p| p.chars.iter().copied()).collect();
    let mut out: Vec<char> = Vec::with_capacity(spec.length);
    for pool in &spec.pools {
        out.extend((0..pool.min).map(|_| pick(&pool.chars, rng)));
    }
    while out.len() < spec.length {
        out.push(pick(&all, rng));
    }
    out.shuffle(rng);
    out.into_iter().collect()
}

/// One character, uniformly (`chars` is never empty: see [`Spec`]).
fn pick<R: Rng + ?Sized>(chars: &[char], rng: &mut R) -> char {
    chars[rng.random_range(0..chars.len())]
}

fn without_repeats(chars: Vec<char>) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len());
    for c in chars {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// An integer property, also from a numeric string: `default` when absent; `None` when
/// unknown or not an integer.
fn int_prop(map: &BTreeMap<String, Value>, name: &str, default: Option<i64>) -> Option<i64> {
    match map.get(name).map(Value::reveal) {
        None | Some(Value::Null) => default,
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_u64().map(|_| i64::MAX)),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    }
}

/// A boolean property, also from `"true"`/`"false"`: `default` when absent; `None` when
/// unknown or not a boolean.
fn bool_prop(map: &BTreeMap<String, Value>, name: &str, default: bool) -> Option<bool> {
    match map.get(name).map(Value::reveal) {
        None | Some(Value::Null) => Some(default),
        Some(v) => v.as_bool(),
    }
}

/// One property's value in a canonical spelling (absent: the default; `"16"`: 16;
/// `"true"`: true); `None` when it is not valid.
fn normalise(property: &str, value: &Json) -> Option<Json> {
    let map = BTreeMap::from([(property.to_string(), Value::from_json(value))]);
    match (property, *SCHEMA.properties.get(property)?) {
        ("Length", _) => int_prop(&map, property, None).map(Json::from),
        (_, "integer") => int_prop(&map, property, Some(0)).map(Json::from),
        (_, "boolean") => bool_prop(&map, property, true).map(Json::Bool),
        ("OverrideSpecial", _) => match &map[property] {
            Value::Null => Some(Json::from(DEFAULT_SPECIAL)),
            v => v.to_cfn_string().map(Json::from),
        },
        ("Keepers", _) => match &map[property] {
            Value::Null => Some(Json::Object(Default::default())),
            Value::Map(m) => m.iter().map(|(k, v)| Some((k.clone(), Json::from(v.to_cfn_string()?)))).collect(),
            _ => None,
        },
        _ => None,
    }
}

fn failure(path: &str, message: String) -> CheckFailure {
    CheckFailure { path: path.to_string(), message }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use serde_json::json;

    use super::*;

    fn check(properties: Json) -> Vec<String> {
        RandomString.check(&Value::from_json(&properties)).into_iter().map(|f| f.message).collect()
    }

    fn spec(properties: Json) -> Spec {
        Settings::read(&Value::from_json(&properties)).spec().expect("valid settings")
    }

    fn class_counts(s: &str, special: &str) -> [usize; 4] {
        [
            s.chars().filter(char::is_ascii_uppercase).count(),
            s.chars().filter(char::is_ascii_lowercase).count(),
            s.chars().filter(char::is_ascii_digit).count(),
            s.chars().filter(|c| special.contains(*c)).count(),
        ]
    }

    proptest! {
        /// Over random settings: the checks reject exactly the impossible ones, and every
        /// generated string has the length, only the enabled classes, and the minimums.
        #[test]
        fn generation_follows_the_settings(
            length in 1usize..200,
            enabled in prop::array::uniform4(any::<bool>()),
            mins in prop::array::uniform4(prop_oneof![Just(0usize), 1usize..40]),
            seed in any::<u64>(),
        ) {
            let mut props = serde_json::Map::new();
            props.insert("Length".into(), json!(length));
            for (i, class) in CLASSES.iter().enumerate() {
                props.insert(class.enabled.into(), json!(enabled[i]));
                props.insert(class.min.into(), json!(mins[i]));
            }
            let props = Json::Object(props);
            let possible = enabled.iter().any(|e| *e)
                && (0..4).all(|i| enabled[i] || mins[i] == 0)
                && mins.iter().sum::<usize>() <= length;
            prop_assert_eq!(check(props.clone()).is_empty(), possible);
            if possible {
                let s = generate(&spec(props), &mut StdRng::seed_from_u64(seed));
                prop_assert_eq!(s.chars().count(), length);
                let counts = class_counts(&s, DEFAULT_SPECIAL);
                prop_assert_eq!(counts.iter().sum::<usize>(), length, "a character outside every class: {}", s);
                for i in 0..4 {
                    prop_assert!(counts[i] >= mins[i], "class {} has {} < {}: {}", i, counts[i], mins[i], s);
                    prop_assert!(enabled[i] || counts[i] == 0, "disabled class {} used: {}", i, s);
                }
            }
        }
    }

    #[test]
    fn every_character_of_the_enabled_classes_turns_up() {
        let spec = spec(json!({"Length": 1024, "Upper": false, "Lower": false}));
        let s = generate(&spec, &mut rand::rng());
        for c in "0123456789".chars().chain(DEFAULT_SPECIAL.chars()) {
            assert!(s.contains(c), "{c:?} never drawn in {s}");
        }
    }

    #[test]
    fn minimums_are_not_all_at_the_front() {
        // With 10 digits guaranteed among 100 characters, some string of 50 draws must
        // have a digit after position 10.
        let spec = spec(json!({"Length": 100, "MinNumeric": 10, "Numeric": true}));
        let mut rng = StdRng::seed_from_u64(7);
        let late_digit = (0..50).any(|_| generate(&spec, &mut rng).chars().skip(10).any(|c| c.is_ascii_digit()));
        assert!(late_digit);
    }

    #[test]
    fn override_special_replaces_the_special_characters() {
        let spec =
            spec(json!({"Length": 40, "Upper": false, "Lower": false, "Numeric": false, "OverrideSpecial": "#~#"}));
        let s = generate(&spec, &mut rand::rng());
        assert_eq!(s.len(), 40);
        assert!(s.chars().all(|c| c == '#' || c == '~'), "{s}");
    }

    #[test]
    fn numbers_and_booleans_may_be_strings() {
        assert!(check(json!({"Length": "12", "Special": "false", "MinUpper": "3"})).is_empty());
        let s = generate(&spec(json!({"Length": "12", "Special": "false", "MinUpper": "3"})), &mut rand::rng());
        assert_eq!(s.len(), 12);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(s.chars().filter(char::is_ascii_uppercase).count() >= 3);
    }

    #[test]
    fn validation_messages() {
        assert_eq!(check(json!({})), ["required property `Length` is missing"]);
        assert_eq!(check(json!({"Length": 0})), ["`Length` must be between 1 and 1024, found 0"]);
        assert_eq!(check(json!({"Length": 1025})), ["`Length` must be between 1 and 1024, found 1025"]);
        assert_eq!(check(json!({"Length": "ten"})), ["expected an integer, found a string"]);
        assert_eq!(check(json!({"Length": 8, "MinLower": -1})), ["`MinLower` must be 0 or more, found -1"]);
        assert_eq!(
            check(json!({"Length": 8, "Upper": false, "Lower": "false", "Numeric": false, "Special": false})),
            ["no characters to choose from: at least one of `Upper`, `Lower`, `Numeric` and `Special` must be true"]
        );
        assert_eq!(
            check(json!({"Length": 8, "Upper": false, "Lower": false, "Numeric": false, "OverrideSpecial": ""})),
            ["no characters to choose from: at least one of `Upper`, `Lower`, `Numeric` and `Special` must be true (and `Special` needs a non-empty `OverrideSpecial`)"]
        );
        assert_eq!(
            check(json!({"Length": 8, "Numeric": false, "MinNumeric": 2})),
            ["`MinNumeric` is 2 but `Numeric` is false: set `Numeric` to true or `MinNumeric` to 0"]
        );
        assert_eq!(
            check(json!({"Length": 8, "OverrideSpecial": "", "MinSpecial": 1})),
            ["`MinSpecial` is 1 but `OverrideSpecial` is empty: there are no special characters to choose from"]
        );
        assert_eq!(
            check(json!({"Length": 5, "MinUpper": 3, "MinSpecial": "3"})),
            ["the minimum counts need 6 characters (`MinUpper` 3 + `MinSpecial` 3) but `Length` is 5"]
        );
        assert_eq!(
            check(json!({"Length": 8, "Keepers": {"a": "1", "b": 2, "c": [1]}})),
            ["expected a string, found a list"]
        );
        assert_eq!(check(json!({"Length": 8, "Lenght": 2})).len(), 1);
    }

    #[test]
    fn unknown_values_are_not_judged() {
        let props = Value::Map(BTreeMap::from([
            ("Length".to_string(), Value::Unknown),
            ("MinUpper".to_string(), Value::from(2000)),
            ("Upper".to_string(), Value::Unknown),
        ]));
        assert!(RandomString.check(&props).is_empty());
        assert!(Settings::read(&props).spec().is_none());
    }

    #[test]
    fn every_property_is_create_only() {
        let schema = RandomString.schema();
        assert_eq!(schema.create_only.len(), schema.properties.len());
    }

    #[test]
    fn equivalent_spellings_do_not_regenerate() {
        let t = RandomString;
        assert!(t.equivalent("Length", &json!(16), &json!("16")));
        assert!(!t.equivalent("Length", &json!(16), &json!(17)));
        assert!(!t.equivalent("Length", &Json::Null, &json!(16)));
        assert!(t.equivalent("Upper", &Json::Null, &json!(true)));
        assert!(t.equivalent("Upper", &json!("False"), &json!(false)));
        assert!(!t.equivalent("Upper", &Json::Null, &json!(false)));
        assert!(t.equivalent("MinUpper", &Json::Null, &json!("0")));
        assert!(t.equivalent("OverrideSpecial", &Json::Null, &json!(DEFAULT_SPECIAL)));
        assert!(t.equivalent("Keepers", &json!({"v": 1}), &json!({"v": "1"})));
        assert!(!t.equivalent("Keepers", &json!({"v": 1}), &json!({"v": "2"})));
        assert!(t.equivalent("Keepers", &Json::Null, &json!({})));
    }

    #[tokio::test]
    async fn lifecycle() {
        let t = RandomString;
        let ctx = crate::builtin::test_ctx(TYPE_NAME, "Password");
        let props = json!({"Length": 24, "Special": false, "Keepers": {"rotation": "1"}});
        let a = t.create(&ctx, &props).await.unwrap();
        let b = t.create(&ctx, &props).await.unwrap();
        assert_eq!(a.physical_id.len(), 24);
        assert_ne!(a.physical_id, b.physical_id, "two creates give two strings");
        assert_eq!(a.attributes["Result"], Value::String(a.physical_id.clone()));

        let read = t.read(&ctx, &a.physical_id, &props).await.unwrap().unwrap();
        assert_eq!(read.data, a);
        assert_eq!(read.properties, props);

        let err = t.update(&ctx, &a.physical_id, &props, &props).await.unwrap_err();
        assert_eq!(err.code.as_deref(), Some("NotUpdatable"));
        t.delete(&ctx, &a.physical_id, &props).await.unwrap();
        assert_eq!(t.find(&ctx, &props).await.unwrap(), None);

        let err = t.create(&ctx, &json!({"Length": 4, "MinUpper": 5})).await.unwrap_err();
        assert_eq!(err.code.as_deref(), Some("InvalidRequest"));
        assert_eq!(err.message, "the minimum counts need 5 characters (`MinUpper` 5) but `Length` is 4");
    }
}
