//! Resource types built into cairn itself, under the `Cairn::` namespace: they touch no
//! cloud and live only in the stack's state.
//!
//! | type | module |
//! | --- | --- |
//! | `Cairn::Random::String` | [`random_string`] |
//! | `Cairn::Time::Sleep` | [`sleep`] |
//!
//! # The pattern every resource type follows
//!
//! One file per type, in this order (AWS types copy it):
//!
//! 1. A module doc listing the properties (type, default, create-only or not), what `Ref`
//!    returns and the `Fn::GetAtt` attributes.
//! 2. `pub const TYPE_NAME` and the [`TypeSchema`](crate::provider::TypeSchema), built
//!    once in a `static SCHEMA: LazyLock<TypeSchema>`.
//! 3. A unit struct and its [`ResourceType`](crate::provider::ResourceType) impl: `schema`,
//!    `check` (only when the type has rules beyond the schema: it calls
//!    [`check_against_schema`](crate::provider::check_against_schema) first), `equivalent`
//!    (only when two spellings of a value mean the same), then create, read, update,
//!    delete, find.
//! 4. Private helpers (property parsing and the type's own logic, as plain functions that
//!    tests can call without a runtime).
//! 5. `#[cfg(test)] mod tests`.

use std::sync::Arc;

use crate::provider::Registry;

pub mod random_string;
pub mod sleep;

/// Register every built-in type.
pub fn register(reg: &mut Registry) {
    reg.register(Arc::new(random_string::RandomString));
    reg.register(Arc::new(sleep::Sleep));
}

/// An operation context for the built-in types' unit tests.
#[cfg(test)]
pub(crate) fn test_ctx(type_name: &str, logical_id: &str) -> crate::provider::OpContext {
    crate::provider::OpContext {
        project: "demo".into(),
        stack: "dev".into(),
        logical_id: logical_id.into(),
        type_name: type_name.into(),
        region: "us-east-1".into(),
        account_id: "123456789012".into(),
        partition: "aws".into(),
        stack_tags: Default::default(),
        name_seed: "abcdefghijkl".into(),
        progress: Default::default(),
        assets: Default::default(),
        final_snapshot: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_every_builtin_type() {
        let mut reg = Registry::new();
        register(&mut reg);
        let names: Vec<&str> = reg.type_names().collect();
        assert_eq!(names, [random_string::TYPE_NAME, sleep::TYPE_NAME]);
    }
}
