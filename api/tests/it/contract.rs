//! The public contract: every type, field, argument (with its default) and enum value of
//! shared/API.md's minimum schema is in ours, with the same types.

use std::collections::BTreeMap;

use async_graphql::parser::{
    parse_schema,
    types::{InputValueDefinition, TypeKind, TypeSystemDefinition},
};

/// `Type.field(arg)` → its type (and default), for every member of an SDL document.
fn members(sdl: &str) -> BTreeMap<String, String> {
    let doc = parse_schema(sdl).expect("valid SDL");
    let mut out = BTreeMap::new();
    let input = |prefix: &str, v: &InputValueDefinition| {
        let default = v
            .default_value
            .as_ref()
            .map(|d| format!(" = {}", d.node))
            .unwrap_or_default();
        (
            format!("{prefix}{}", v.name.node),
            format!("{}{default}", v.ty.node),
        )
    };
    for def in doc.definitions {
        let TypeSystemDefinition::Type(ty) = def else {
            continue;
        };
        let name = ty.node.name.node.to_string();
        out.insert(name.clone(), "type".into());
        match ty.node.kind {
            TypeKind::Object(obj) => {
                for f in obj.fields {
                    let field = format!("{name}.{}", f.node.name.node);
                    out.insert(field.clone(), f.node.ty.node.to_string());
                    for a in &f.node.arguments {
                        let (k, v) = input(&format!("{field}("), &a.node);
                        out.insert(format!("{k})"), v);
                    }
                }
            }
            TypeKind::InputObject(obj) => {
                for f in &obj.fields {
                    let (k, v) = input(&format!("{name}."), &f.node);
                    out.insert(k, v);
                }
            }
            TypeKind::Enum(e) => {
                for v in e.values {
                    out.insert(format!("{name}::{}", v.node.value.node), "value".into());
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn the_schema_keeps_the_public_contract() {
    let contract = members(include_str!("contract.graphql"));
    let ours = members(&api::schema::sdl());
    let broken: Vec<String> = contract
        .iter()
        .filter(|(member, ty)| ours.get(*member) != Some(*ty))
        .map(|(member, ty)| format!("{member}: contract {ty}, ours {:?}", ours.get(member)))
        .collect();
    assert!(
        contract.len() > 80,
        "the contract parsed: {}",
        contract.len()
    );
    assert!(
        broken.is_empty(),
        "breaks the public contract:\n{}",
        broken.join("\n")
    );
}

/// `User`, `Ticket`, `Order`, `Charge` and `Event` are federation entities keyed by `id`.
#[test]
fn the_contract_entities_are_keyed_by_id() {
    let sdl = api::schema::builder()
        .finish()
        .sdl_with_options(async_graphql::SDLExportOptions::new().federation());
    for entity in ["User", "Ticket", "Order", "Charge", "Event"] {
        let keyed = sdl
            .lines()
            .any(|l| l.starts_with(&format!("type {entity} @key(fields: \"id\")")));
        assert!(keyed, "{entity} is not an entity keyed by id:\n{sdl}");
    }
}

/// The error codes the web UI and the fuzzer know are exactly the API's (`api::error::code::ALL`):
/// a code added, renamed or dropped on one side fails here, not in front of a user.
#[test]
fn every_copy_of_the_error_codes_is_the_list() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let quoted = |text: &str, quote: char| -> Vec<String> {
        text.split(quote)
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let web = std::fs::read_to_string(root.join("web/src/lib/errors.ts")).unwrap();
    let union = web
        .split("export type ErrorCode =")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .expect("the ErrorCode union in errors.ts");
    let mut web_codes = quoted(union, '\'');
    web_codes.retain(|c| c != "NETWORK");
    let fuzz = std::fs::read_to_string(root.join("fuzz/common.py")).unwrap();
    let set = fuzz
        .split("ALLOWED_CODES = {")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .expect("ALLOWED_CODES in fuzz/common.py");
    let fuzz_codes = quoted(set, '"');
    let mut api: Vec<String> = api::error::code::ALL
        .iter()
        .map(|c| c.to_string())
        .collect();
    api.sort();
    for (copy, mut codes) in [
        ("web/src/lib/errors.ts", web_codes),
        ("fuzz/common.py", fuzz_codes),
    ] {
        codes.sort();
        assert_eq!(
            codes, api,
            "{copy} lists other codes than api::error::code::ALL"
        );
    }
}
