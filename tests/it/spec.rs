//! The spec against the DIS document: every row of tables 1-6 of the seed is in
//! `openapi/dis-records.yaml` with its type, required flag, constraint and original Chinese
//! wording; and every example in the spec validates against its schema.

use serde_json::{Value, json};

const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/source/dis_02_0018.md");

fn spec() -> Value {
    serde_saphyr::from_str(dis_records::OPENAPI_SPEC).expect("the spec is valid YAML")
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(spec: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => spec
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {r}")),
        None => node,
    }
}

/// One row of a seed table: name, required (None where the table has no such column), type,
/// and the paragraphs of its description.
#[derive(Debug)]
struct Row {
    name: String,
    required: Option<bool>,
    ty: String,
    paragraphs: Vec<String>,
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// Reads tables 1-6 of the seed document (HTML tables after "**表 N**").
fn seed_tables() -> Vec<(u32, Vec<Row>)> {
    let text = std::fs::read_to_string(SEED).expect("seed document beside the repo");
    let mut tables = Vec::new();
    for n in 1..=6 {
        let start = text
            .find(&format!("**表 {n}**"))
            .unwrap_or_else(|| panic!("table {n}"));
        let rest = &text[start..];
        let body = &rest[rest.find("<tbody>").unwrap()..rest.find("</tbody>").unwrap()];
        let rows = body
            .split("<tr>")
            .skip(1)
            .map(|tr| {
                let cells: Vec<&str> = tr.split("<td").skip(1).collect();
                let paragraphs = |cell: &str| -> Vec<String> {
                    cell.split("<p>")
                        .skip(1)
                        .map(strip_tags)
                        .filter(|p| !p.is_empty())
                        .collect()
                };
                let name = strip_tags(&format!("<td{}", cells[0]));
                let (required, ty, desc) = if cells.len() == 4 {
                    (
                        Some(strip_tags(&format!("<td{}", cells[1])) == "是"),
                        strip_tags(&format!("<td{}", cells[2])),
                        cells[3],
                    )
                } else {
                    (None, strip_tags(&format!("<td{}", cells[1])), cells[2])
                };
                Row {
                    name,
                    required,
                    ty,
                    paragraphs: paragraphs(desc),
                }
            })
            .collect();
        tables.push((n, rows));
    }
    tables
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect()
}

#[test]
fn every_seed_table_row_is_in_the_spec() {
    let spec = spec();
    let s = |p: &str| spec.pointer(p).unwrap_or_else(|| panic!("spec has no {p}"));
    let tables = seed_tables();
    let mut checked = 0;
    for (n, rows) in &tables {
        for row in rows {
            // Where the row lives in the spec.
            let (node, required): (&Value, Option<bool>) = match n {
                1 => {
                    let p = resolve(
                        &spec,
                        &s("/paths/~1v2~1{project_id}~1records/post/parameters")[0],
                    );
                    assert_eq!(p["name"], row.name.as_str());
                    assert_eq!(p["in"], "path");
                    (p, p["required"].as_bool())
                }
                2 => {
                    let scheme = s("/components/securitySchemes/authToken");
                    assert_eq!(scheme["type"], "apiKey");
                    assert_eq!(scheme["in"], "header");
                    assert_eq!(scheme["name"], row.name.as_str());
                    // Required: every way to call the operation needs a credential (no empty
                    // `{}` alternative), and the token alone is one of them. The other
                    // alternative is the AK/SK signature (openapi/REVIEW.md explains).
                    let security = s("/paths/~1v2~1{project_id}~1records/post/security")
                        .as_array()
                        .unwrap();
                    let no_anonymous = security
                        .iter()
                        .all(|r| r.as_object().is_some_and(|o| !o.is_empty()));
                    let token_alone = security.iter().any(|r| r == &json!({"authToken": []}));
                    (scheme, Some(no_anonymous && token_alone))
                }
                _ => {
                    let schema = match n {
                        3 => "PutRecordsRequest",
                        4 => "PutRecordsRequestEntry",
                        5 => "PutRecordsResult",
                        _ => "PutRecordsResultEntry",
                    };
                    let obj = s(&format!("/components/schemas/{schema}"));
                    let prop = obj["properties"]
                        .get(&row.name)
                        .unwrap_or_else(|| panic!("table {n}: {schema} lacks {}", row.name));
                    let req = obj["required"]
                        .as_array()
                        .map(|r| r.iter().any(|x| x == row.name.as_str()))
                        .unwrap_or(false);
                    (prop, Some(req))
                }
            };
            if let Some(expected) = row.required {
                assert_eq!(
                    required,
                    Some(expected),
                    "table {n} {}: required flag",
                    row.name
                );
            }
            // Type.
            let schema = if *n == 1 { &node["schema"] } else { node };
            match row.ty.as_str() {
                // An apiKey scheme's value is a header string by definition.
                "String" if *n == 2 => assert_eq!(schema["type"], "apiKey"),
                "String" => assert_eq!(schema["type"], "string", "table {n} {}", row.name),
                "Integer" => {
                    assert_eq!(schema["type"], "integer", "table {n} {}", row.name);
                    assert_eq!(schema["format"], "int32");
                }
                t if t.starts_with("Array of ") => {
                    assert_eq!(schema["type"], "array", "table {n} {}", row.name);
                    let item = t
                        .trim_start_matches("Array of ")
                        .trim_end_matches(" objects");
                    assert_eq!(
                        schema["items"]["$ref"],
                        format!("#/components/schemas/{item}").as_str()
                    );
                }
                t => panic!("table {n} {}: unknown type {t}", row.name),
            }
            // The original wording, paragraph by paragraph.
            let desc = squash(node["description"].as_str().unwrap_or_default());
            for p in &row.paragraphs {
                assert!(
                    desc.contains(&squash(p)),
                    "table {n} {}: description lacks the seed's {p:?}",
                    row.name
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 1 + 1 + 3 + 4 + 2 + 4, "rows checked");

    // Constraints the tables state.
    let entry = s("/components/schemas/PutRecordsRequestEntry/properties");
    assert_eq!(
        s("/components/schemas/PutRecordsRequest/properties/stream_name/maxLength"),
        60
    );
    assert_eq!(entry["data"]["format"], "byte");
    assert!(entry["explicit_hash_key"]["pattern"].is_string());
    assert!(entry["partition_id"]["pattern"].is_string());
    let op = s("/paths/~1v2~1{project_id}~1records/post");
    assert_eq!(op["operationId"], "sendRecords");
    for code in [
        "200", "400", "401", "403", "404", "413", "429", "441", "500", "503",
    ] {
        assert!(op["responses"].get(code).is_some(), "response {code}");
    }
    assert_eq!(
        s("/servers/0/url"),
        "https://dis.{region}.myhuaweicloud.com"
    );
    assert!(s("/servers/0/variables/region/default").is_string());
}

#[test]
fn seed_request_example_is_in_the_spec_verbatim() {
    let spec = spec();
    let example = spec
        .pointer("/paths/~1v2~1{project_id}~1records/post/requestBody/content/application~1json/examples/seed/value")
        .unwrap();
    assert_eq!(
        example,
        &json!({"stream_name": "newstream", "records": [{"data": "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE="}]})
    );
}

fn validator(spec: &Value, schema: &Value) -> jsonschema::Validator {
    let root = json!({ "components": spec["components"], "allOf": [schema] });
    jsonschema::validator_for(&root).expect("schema compiles")
}

/// Walks the spec and checks every `example`/`examples` against the schema beside it.
fn check_examples(spec: &Value, node: &Value, path: &str, count: &mut usize) {
    let Some(map) = node.as_object() else {
        if let Some(items) = node.as_array() {
            for (i, item) in items.iter().enumerate() {
                check_examples(spec, item, &format!("{path}/{i}"), count);
            }
        }
        return;
    };
    let schema = if map.contains_key("schema") {
        Some(&map["schema"])
    } else if map.contains_key("oneOf")
        || matches!(
            map.get("type").and_then(Value::as_str),
            Some("object" | "array" | "string" | "integer" | "number" | "boolean")
        )
    {
        Some(node)
    } else {
        None
    };
    if let Some(schema) = schema {
        let v = validator(spec, schema);
        let mut examples: Vec<&Value> = map.get("example").into_iter().collect();
        if let Some(Value::Object(named)) = map.get("examples") {
            examples.extend(named.values().map(|e| &e["value"]));
        }
        for ex in examples {
            let errors: Vec<String> = v.iter_errors(ex).map(|e| e.to_string()).collect();
            assert!(
                errors.is_empty(),
                "{path}: example {ex} is invalid: {errors:?}"
            );
            *count += 1;
        }
    }
    for (k, child) in map {
        if k != "example" && k != "examples" {
            check_examples(spec, child, &format!("{path}/{k}"), count);
        }
    }
}

#[test]
fn every_example_validates_against_its_schema() {
    let spec = spec();
    let mut count = 0;
    check_examples(&spec, &spec, "", &mut count);
    assert!(count >= 15, "only {count} examples found");
}

#[test]
fn schemas_reject_what_the_tables_forbid() {
    let spec = spec();
    let request = validator(
        &spec,
        &json!({"$ref": "#/components/schemas/PutRecordsRequest"}),
    );
    let ok = json!({"stream_name": "s", "records": [{"data": "ZGF0YQ=="}]});
    assert!(request.is_valid(&ok));
    let bad = [
        json!({"records": [{"data": "ZGF0YQ=="}]}),
        json!({"stream_name": "s".repeat(61), "records": [{"data": "ZGF0YQ=="}]}),
        json!({"stream_name": "s", "records": []}),
        json!({"stream_name": "s", "records": [{}]}),
        json!({"stream_name": "s", "records": [{"data": "x", "explicit_hash_key": "9223372036854775808"}]}),
        json!({"stream_name": "s", "records": [{"data": "x", "explicit_hash_key": "01"}]}),
        json!({"stream_name": "s", "records": [{"data": "x", "partition_id": "shardId-1"}]}),
    ];
    for b in bad {
        assert!(!request.is_valid(&b), "accepted {b}");
    }
    let error = validator(&spec, &json!({"$ref": "#/components/schemas/DisError"}));
    assert!(error.is_valid(&json!({"errorCode": "DIS.4301", "message": "m"})));
    assert!(error.is_valid(&json!({"error_code": "APIGW.0301", "error_msg": "m"})));
    assert!(!error.is_valid(&json!({"msg": "neither shape"})));
}

#[test]
fn explicit_hash_key_pattern_is_exactly_the_long_range() {
    let spec = spec();
    let pattern = spec
        .pointer("/components/schemas/PutRecordsRequestEntry/properties/explicit_hash_key/pattern")
        .and_then(Value::as_str)
        .unwrap();
    let re = regress::Regex::new(pattern).unwrap();
    let matches = |s: &str| re.find(s).is_some();
    let max = i64::MAX as u64;
    let mut probes: Vec<u64> = (0..2000).collect();
    probes.extend((0..2000).map(|i| max - i));
    probes.extend((1..2000).map(|i| max + i));
    probes.extend((0..20).flat_map(|k| {
        let p = 10u64.pow(k);
        [p - 1, p, p + 1]
    }));
    // Every prefix of i64::MAX with the next digit raised or lowered.
    let digits = max.to_string();
    for i in 0..digits.len() {
        for d in b'0'..=b'9' {
            let mut s = digits.clone().into_bytes();
            s[i] = d;
            if let Ok(n) = String::from_utf8(s).unwrap().parse::<u64>() {
                probes.push(n);
            }
        }
    }
    for n in probes {
        assert_eq!(matches(&n.to_string()), n <= max, "{n}");
    }
    for s in [
        "",
        "-1",
        "+1",
        "01",
        "00",
        " 1",
        "1 ",
        "1e3",
        "99999999999999999999",
    ] {
        assert!(!matches(s), "{s:?}");
    }
}

#[test]
fn derived_json_schemas_lose_constraints_the_exported_components_keep() {
    // The gap documented in the README: schemars sees the validating newtypes as strings
    // (all but the partition ID, whose type is the crate's own: src/ids.rs).
    let derived = serde_json::to_value(schemars::schema_for!(
        dis_records::generated::types::PutRecordsRequest
    ))
    .unwrap();
    let text = derived.to_string();
    assert!(text.contains("stream_name"));
    assert!(
        !text.contains("maxLength"),
        "schemars now keeps maxLength: update the README"
    );
    let patterns = text.matches("\"pattern\"").count();
    assert_eq!(
        patterns, 1,
        "schemars now keeps other patterns than partition_id's: update the README"
    );
    assert!(text.contains(dis_records::PARTITION_ID_PATTERN));
    // The shipped spec (`OPENAPI_SPEC`) keeps them: it is the authoritative schema.
    let components = &spec()["components"]["schemas"];
    assert_eq!(
        components["PutRecordsRequest"]["properties"]["stream_name"]["maxLength"],
        60
    );
    let pattern = components["PutRecordsRequestEntry"]["properties"]["partition_id"]["pattern"]
        .as_str()
        .expect("partition_id has a pattern");
    assert!(pattern.contains("shardId-"), "{pattern}");
}
