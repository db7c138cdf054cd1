//! `cairn types [--json]`: every resource type cairn supports, what `Ref` gives, its
//! `Fn::GetAtt` attributes, and which lifecycle steps the conformance suite
//! (`crates/cairn-cli/tests/conformance.rs`) verifies on the emulator. Needs no project,
//! no stack, no region and makes no AWS call.

use std::sync::Arc;

use cairn_core::provider::{Registry, ResourceType, Step};
use serde_json::{json, Value as Json};

use crate::render;

/// What the table and the JSON say of a type that the conformance suite does not run.
const BUILTIN_NOTE: &str = "cairn's own type, which touches no cloud: covered by the engine tests, not the emulator";
const NO_FIXTURE_NOTE: &str = "no conformance fixture yet: the lifecycle suite does not run it";

/// Every registered type: cairn's own and the AWS provider's (whose clients are never used).
pub fn registry() -> Registry {
    let mut r = crate::commands::registry();
    cairn_aws::register(&mut r, cairn_aws::Aws::unconfigured());
    r
}

/// The types, sorted by name.
fn sorted(reg: &Registry) -> Vec<(&str, &Arc<dyn ResourceType>)> {
    let mut out: Vec<_> = reg.type_names().filter_map(|n| reg.get(n).map(|t| (n, t))).collect();
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

fn note(name: &str, t: &dyn ResourceType) -> Option<&'static str> {
    match t.about().conformance {
        Some(_) => None,
        None if name.starts_with("Cairn::") => Some(BUILTIN_NOTE),
        None => Some(NO_FIXTURE_NOTE),
    }
}

/// `cairn types --json`: an array, one object per type.
pub fn json(reg: &Registry) -> Json {
    let rows: Vec<Json> = sorted(reg)
        .into_iter()
        .map(|(name, t)| {
            let about = t.about();
            let c = about.conformance.unwrap_or_default();
            let mut j = json!({
                "type": name,
                "ref": about.reference,
                "attributes": t.schema().attributes,
                "verified": c.verified.iter().map(|s| s.name()).collect::<Vec<_>>(),
                "unverified": c.unverified.iter().map(|(s, why)| json!({"step": s.name(), "why": why})).collect::<Vec<_>>(),
            });
            if let Some(n) = note(name, t.as_ref()) {
                j["note"] = n.into();
            }
            j
        })
        .collect();
    Json::Array(rows)
}

/// `cairn types`: a table, then the steps the emulator cannot verify, with why.
pub fn text(reg: &Registry) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    t.set_header(vec!["TYPE", "REF", "GETATT", "ON THE EMULATOR"]);
    let mut unverified = Vec::new();
    for (name, ty) in sorted(reg) {
        let about = ty.about();
        let attributes = &ty.schema().attributes;
        let attributes = if attributes.is_empty() { "-".to_string() } else { wrapped(attributes, 40) };
        let reference = if about.reference.is_empty() { "-".to_string() } else { about.reference.clone() };
        let emulator = match &about.conformance {
            None if name.starts_with("Cairn::") => "engine tests".to_string(),
            None => "no fixture yet".to_string(),
            Some(c) => {
                // Steps that do not apply (no nested create-only path) are not "missing".
                let missing: Vec<&str> = c.unverified.iter().map(|(s, _)| s.name()).collect();
                unverified.extend(c.unverified.iter().map(|(s, why)| (name.to_string(), *s, why.clone())));
                if missing.is_empty() {
                    let applicable = c.verified.len();
                    format!("all {applicable} that apply")
                } else {
                    format!("all but {}", missing.join(", "))
                }
            }
        };
        t.add_row(vec![name.to_string(), reference, attributes, emulator]);
    }
    let mut out = render::table_text(&t);
    if !unverified.is_empty() {
        out.push_str("\nNot verified on the emulator:\n");
        for (name, step, why) in unverified {
            out.push_str(&format!("  {name} {}: {why}\n", step.name()));
        }
    }
    let steps: Vec<&str> = Step::ALL.iter().map(|s| s.name()).collect();
    out.push_str(&format!(
        "\nThe conformance suite's steps: {}.\nreplace applies where the schema has a top-level create-only property, \
         nested_replace where it has a nested one; `cairn types --json` lists each type's steps.\n",
        steps.join(", ")
    ));
    out
}

/// `items` joined by ", ", on lines of at most `width` characters (a long item alone).
fn wrapped(items: &[String], width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    for item in items {
        match lines.last_mut() {
            Some(line) if line.len() + 2 + item.len() <= width => {
                line.push_str(", ");
                line.push_str(item);
            }
            Some(line) => {
                line.push(',');
                lines.push(item.clone());
            }
            None => lines.push(item.clone()),
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use cairn_core::provider::{About, Conformance, OpContext, ProviderError, ReadResult, ResourceData, TypeSchema};

    use super::*;

    /// A type whose fixture leaves a step unverified.
    struct Partly(TypeSchema);

    #[async_trait]
    impl ResourceType for Partly {
        fn schema(&self) -> &TypeSchema {
            &self.0
        }
        fn about(&self) -> About {
            About {
                reference: "the thing's name".into(),
                conformance: Some(Conformance {
                    verified: vec![Step::Create, Step::ReadBack],
                    unverified: vec![(Step::PartialFailure, "the emulator has no such API".into())],
                }),
            }
        }
        async fn create(&self, _: &OpContext, _: &Json) -> Result<ResourceData, ProviderError> {
            Err(ProviderError::new("not in this test"))
        }
        async fn read(&self, _: &OpContext, _: &str, _: &Json) -> Result<Option<ReadResult>, ProviderError> {
            Ok(None)
        }
        async fn update(&self, _: &OpContext, _: &str, _: &Json, _: &Json) -> Result<ResourceData, ProviderError> {
            Err(ProviderError::new("not in this test"))
        }
        async fn delete(&self, _: &OpContext, _: &str, _: &Json) -> Result<(), ProviderError> {
            Ok(())
        }
        async fn find(&self, _: &OpContext, _: &Json) -> Result<Option<ResourceData>, ProviderError> {
            Ok(None)
        }
    }

    #[test]
    fn an_unverified_step_is_named_with_why_and_never_claimed() {
        let mut reg = crate::commands::registry();
        let schema =
            TypeSchema { type_name: "AWS::Test::Thing".into(), attributes: vec!["Arn".into()], ..Default::default() };
        reg.register(Arc::new(Partly(schema)));
        let text = text(&reg);
        let row = text.lines().find(|l| l.starts_with("AWS::Test::Thing")).expect(&text);
        assert!(
            row.contains("the thing's name") && row.contains("Arn") && row.ends_with("all but partial_failure"),
            "{row}"
        );
        assert!(
            text.contains(
                "Not verified on the emulator:\n  AWS::Test::Thing partial_failure: the emulator has no such API\n"
            ),
            "{text}"
        );
        let j = json(&reg);
        let thing = j.as_array().unwrap().iter().find(|r| r["type"] == "AWS::Test::Thing").unwrap();
        assert_eq!(thing["verified"], json!(["create", "read_back"]));
        assert_eq!(thing["unverified"], json!([{"step": "partial_failure", "why": "the emulator has no such API"}]));
        assert!(thing.get("note").is_none());
        let sleep = j.as_array().unwrap().iter().find(|r| r["type"] == "Cairn::Time::Sleep").unwrap();
        assert_eq!(sleep["verified"], json!([]));
        assert_eq!(sleep["note"], BUILTIN_NOTE);
    }

    #[test]
    fn attributes_wrap_between_items() {
        let items: Vec<String> = ["Arn", "DomainName", "DualStackDomainName", "X"].map(String::from).into();
        assert_eq!(wrapped(&items, 20), "Arn, DomainName,\nDualStackDomainName,\nX");
        assert_eq!(wrapped(&items[..1], 2), "Arn");
    }
}
