//! Generates the DIS client from `openapi/dis-records.yaml` with progenitor, into `OUT_DIR`.
//! `src/generated.rs` includes the result; nothing generated is committed.

use std::{env, fs, path::Path, process::exit};

const SPEC: &str = "openapi/dis-records.yaml";
/// The operation the hand-written layer sends itself, besides the generated method.
const OPERATION: &str = "sendRecords";

/// Stops the build with one readable line (file, line, problem) instead of a panic backtrace.
fn fail(problem: impl std::fmt::Display) -> ! {
    eprintln!("error: {SPEC}: {problem}");
    exit(1)
}

/// The schema of a `type: string, format: byte` property (descriptions do not matter).
fn byte_string() -> schemars08::schema::SchemaObject {
    use schemars08::schema::{InstanceType, SchemaObject};
    SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        format: Some("byte".into()),
        ..SchemaObject::default()
    }
}

/// The schema of a `type: string` property with `pattern` (descriptions do not matter).
fn patterned_string(pattern: &str) -> schemars08::schema::SchemaObject {
    use schemars08::schema::{InstanceType, SchemaObject, StringValidation};
    SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        string: Some(Box::new(StringValidation {
            pattern: Some(pattern.into()),
            ..StringValidation::default()
        })),
        ..SchemaObject::default()
    }
}

/// The answer's partition ID and sequence number: checked without a regular expression and
/// held inline (`src/ids.rs`, whose constants are these patterns; a pattern changed in the
/// spec no longer maps there, and the build fails where the fields are read).
const ID_TYPES: [(&str, &str); 2] = [
    (
        "^(shardId-[0-9]{10}|[0-9]{1,10})$",
        "crate::ids::PartitionId",
    ),
    ("^[0-9]{1,128}$", "crate::ids::SequenceNumber"),
];

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    let text = fs::read_to_string(SPEC).unwrap_or_else(|e| fail(format!("cannot read: {e}")));
    // serde-saphyr: pure Rust, reports "line L column C: ..." and rejects duplicate keys.
    let spec: openapiv3::OpenAPI = serde_saphyr::from_str(&text).unwrap_or_else(|e| fail(e));

    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Positional)
        // Credentials (token or AK/SK signature) go on every request by the hooks in
        // src/generated.rs, with src/ext.rs's Context.
        .with_inner_type("crate::ext::Context".parse().unwrap())
        .with_hooks(progenitor::HooksMode::Expected)
        .with_derive("schemars::JsonSchema")
        // `format: byte` strings hold raw bytes; Base64 happens only when serializing.
        .with_conversion(byte_string(), "crate::ext::Base64Data", std::iter::empty());
    for (pattern, type_name) in ID_TYPES {
        use progenitor::TypeImpl;
        let impls = [TypeImpl::FromStr, TypeImpl::Display].into_iter();
        settings.with_conversion(patterned_string(pattern), type_name, impls);
    }
    let tokens = progenitor::Generator::new(&settings)
        .generate_tokens(&spec)
        .unwrap_or_else(|e| fail(format!("progenitor: {e}")));
    let file = syn::parse2(tokens).unwrap_or_else(|e| fail(format!("generated code: {e}")));
    // The operation's path, for the hand-written layer's own requests (protobuf bodies, reused
    // buffers): they go where the generated method sends.
    let path = spec
        .paths
        .paths
        .iter()
        .find(|(_, item)| {
            item.as_item()
                .and_then(|i| i.post.as_ref())
                .and_then(|o| o.operation_id.as_deref())
                == Some(OPERATION)
        })
        .map(|(path, _)| path)
        .unwrap_or_else(|| fail(format!("no POST operation {OPERATION}")));
    let code = format!(
        "{}\n/// The path of `{OPERATION}`, from the spec.\npub(crate) const SEND_RECORDS_PATH: &str = {path:?};\n",
        prettyplease::unparse(&file)
    );
    let out = Path::new(&env::var("OUT_DIR").unwrap()).to_owned();
    fs::write(out.join("dis_records_client.rs"), code)
        .unwrap_or_else(|e| fail(format!("write: {e}")));
}
