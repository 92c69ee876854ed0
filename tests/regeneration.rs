//! The spec drives the code: a change to `openapi/dis-records.yaml` shows up in the client that
//! `cargo build` generates, with no other file touched.
//!
//! The test copies the crate (without `target/`, `.git/`, `node_modules/`) to
//! `target/regen-check/crate` and builds its library there (`cargo build --offline --lib`, in
//! the main target dir so that the dependencies are reused: cargo does not hold the target
//! dir's lock while test binaries run), reading the generated `dis_records_client.rs` from the
//! build script's `OUT_DIR` as cargo reports it. Then it adds a new optional field to the
//! response schemas `PutRecordsResult` and `PutRecordsResultEntry` and lowers `stream_name`'s `maxLength` from 60 to 59
//! in the copied spec, builds again, and checks that both are in the regenerated client (and
//! were not before) and that the crate still builds with no other change.
//!
//! Last, it renames a property of the request, `PutRecordsRequestEntry.partition_key`, in a fresh
//! copy of the spec: the spec drives every JSON byte, so either the build fails naming the
//! hand-written code that must follow, or the new name is on the wire. A build that passes while
//! a hand-written writer keeps the old name (silent drift) fails the test; so does a hand-written
//! JSON writer anywhere in `src/` (a `"partition_key"` string literal).
//!
//! Cost: three builds of this crate alone (the dependencies are already built by `cargo test`).
//! That is more than the rest of `cargo test` takes, so both tests are `#[ignore]`d there and CI
//! runs them (`.ci/run`: `cargo test --test regeneration -- --ignored`).

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant, SystemTime},
};

const PROBE_FIELD: &str = "regeneration_probe_field";

/// Copies `from` into `to`, skipping build output, VCS data and npm packages.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if [".git", "target", "node_modules"]
            .iter()
            .any(|s| name == *s)
        {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        let ty = entry.file_type().unwrap();
        if ty.is_dir() {
            copy_tree(&src, &dst);
        } else if ty.is_file() {
            fs::copy(&src, &dst).unwrap();
        }
    }
}

/// A lock directory, so two `cargo test` runs in one checkout do not edit the same copy at the
/// same time (`mkdir` is atomic). A lock older than 30 minutes is taken over as stale.
struct DirLock(PathBuf);

impl DirLock {
    fn acquire(path: PathBuf) -> Self {
        let start = Instant::now();
        loop {
            match fs::create_dir(&path) {
                Ok(()) => return DirLock(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok())
                        .unwrap_or_default();
                    if age > Duration::from_secs(30 * 60) {
                        let _ = fs::remove_dir(&path);
                        continue;
                    }
                    assert!(
                        start.elapsed() < Duration::from_secs(30 * 60),
                        "{} stays locked",
                        path.display()
                    );
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => panic!("lock {}: {e}", path.display()),
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
    }
}

/// What one `cargo build --offline --lib` of the copied crate gave.
struct Build {
    /// The generated client, read from the `OUT_DIR` that cargo reports for the build script.
    generated: String,
    /// The compiler's error messages (empty when the build succeeded).
    errors: Vec<String>,
}

fn build(krate: &Path, target_dir: &Path) -> Build {
    let start = Instant::now();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--offline", "--lib", "--message-format=json"])
        .current_dir(krate)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("cargo runs");
    let messages: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let errors: Vec<String> = messages
        .iter()
        .filter(|v| v["reason"] == "compiler-message" && v["message"]["level"] == "error")
        .filter_map(|v| v["message"]["rendered"].as_str().map(str::to_owned))
        .filter(|m| !m.starts_with("error: aborting") && !m.contains("due to"))
        .collect();
    let out_dir = messages
        .iter()
        .filter(|v| {
            v["reason"] == "build-script-executed"
                && v["package_id"]
                    .as_str()
                    .is_some_and(|id| id.contains("dis-records"))
        })
        .filter_map(|v| v["out_dir"].as_str().map(PathBuf::from))
        .next_back()
        .unwrap_or_else(|| {
            panic!(
                "cargo reported no OUT_DIR for the build script:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert_eq!(
        out.status.success(),
        errors.is_empty(),
        "cargo build: {}\n{}\n{errors:?}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "regeneration: cargo build of {} took {:.1?} ({}); generated {}",
        krate.display(),
        start.elapsed(),
        if errors.is_empty() {
            "ok"
        } else {
            "compile errors"
        },
        out_dir.join("dis_records_client.rs").display()
    );
    Build {
        generated: fs::read_to_string(out_dir.join("dis_records_client.rs"))
            .expect("generated client"),
        errors,
    }
}

/// A fresh copy of the crate at `root` in the target dir's `regen-check/crate`, held under its
/// lock: the target dir, the copy, and the lock.
fn fresh_copy(root: &Path) -> (PathBuf, PathBuf, DirLock) {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let work = target_dir.join("regen-check");
    fs::create_dir_all(&work).unwrap();
    let lock = DirLock::acquire(work.join("crate.lock"));
    let krate = work.join("crate");
    if krate.exists() {
        fs::remove_dir_all(&krate).unwrap();
    }
    copy_crate(root, &krate);
    (target_dir, krate, lock)
}

/// Copies the checkout to `krate`, for a build in the shared target dir, with the checkout's
/// own `huaweicloud-sign` and `dis-records-proto` (by absolute path; not members of the copy).
/// A copied one would be
/// built into the same artifact files as the checkout's (same package, same relative path) with
/// another crate hash, and the checkout's dis-local and dis-records, built against the
/// original, would no longer load (E0460 in the doctests `cargo test` compiles after this test).
fn copy_crate(root: &Path, krate: &Path) {
    copy_tree(root, krate);
    fs::remove_dir_all(krate.join("huaweicloud-sign")).unwrap();
    fs::remove_dir_all(krate.join("dis-records-proto")).unwrap();
    // The command crate depends on `dis-records` by name: not a member of the renamed copy.
    fs::remove_dir_all(krate.join("cli")).unwrap();
    let manifest = krate.join("Cargo.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    let signer = format!("path = {:?}", root.join("huaweicloud-sign"));
    let messages = format!("path = {:?}", root.join("dis-records-proto"));
    // Another package name, too: cargo hashes a workspace member by its path relative to the
    // workspace root, so the copy would otherwise share the checkout's build-script `OUT_DIR`
    // and artifacts, and leave them generated from the edited spec.
    let edited = text
        .replace(r#", "cli"]"#, "]")
        .replace(r#"path = "huaweicloud-sign""#, &signer)
        .replace(r#"path = "dis-records-proto""#, &messages)
        .replace(r#", "dis-records-proto"]"#, "]")
        .replace(r#", "huaweicloud-sign"]"#, "]")
        .replacen(
            r#"name = "dis-records""#,
            r#"name = "dis-records-regen-check""#,
            1,
        );
    assert!(
        edited.contains(&signer)
            && edited.contains(&messages)
            && !edited.contains(r#""huaweicloud-sign""#)
            && !edited.contains(r#""dis-records-proto""#)
            && edited.contains(r#"name = "dis-records-regen-check""#),
        "the copy's Cargo.toml still names its own huaweicloud-sign, dis-records-proto or package"
    );
    fs::write(&manifest, edited).unwrap();
}

/// The text of `pub struct NAME { ... }` in the generated code.
fn struct_body<'a>(code: &'a str, name: &str) -> &'a str {
    let start = code
        .find(&format!("pub struct {name} {{"))
        .unwrap_or_else(|| panic!("generated code has no struct {name}"));
    let end = start + code[start..].find("\n}").expect("struct ends");
    &code[start..end]
}

#[test]
#[ignore = "builds the crate again: `.ci/run` runs it with `--ignored`"]
fn a_spec_change_shows_up_in_the_generated_client() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (target_dir, krate, _lock) = fresh_copy(root);

    // Before: the spec as committed. It must build.
    let before = build(&krate, &target_dir);
    assert!(
        before.errors.is_empty(),
        "the committed spec does not build: {:?}",
        before.errors
    );
    let before = before.generated;
    for schema in ["PutRecordsResult", "PutRecordsResultEntry"] {
        let body = struct_body(&before, schema);
        assert!(
            !body.contains(PROBE_FIELD),
            "{PROBE_FIELD} is already in {schema}"
        );
    }
    assert!(
        struct_body(&before, "PutRecordsRequestEntry").contains("pub data:"),
        "baseline has PutRecordsRequestEntry.data"
    );
    assert!(
        before.contains("longer than 60 characters"),
        "baseline enforces stream_name maxLength 60"
    );
    assert!(!before.contains("longer than 59 characters"));

    // Edit the copied spec: a new optional response field, one changed constraint.
    let spec_path = krate.join("openapi").join("dis-records.yaml");
    let mut spec = fs::read_to_string(&spec_path).unwrap();
    for schema in ["PutRecordsResult", "PutRecordsResultEntry"] {
        let at = spec
            .find(&format!("\n    {schema}:\n"))
            .unwrap_or_else(|| panic!("{schema} in the spec"));
        let props = at
            + spec[at..]
                .find("\n      properties:\n")
                .unwrap_or_else(|| panic!("{schema}.properties"))
            + "\n      properties:\n".len();
        spec.insert_str(
            props,
            &format!(
                "        {PROBE_FIELD}:\n          type: string\n          description: Added by tests/regeneration.rs.\n"
            ),
        );
    }
    assert_eq!(
        spec.matches("maxLength: 60").count(),
        2,
        "two maxLength 60 (SendRecords' stream_name, DescribeStream's path parameter)"
    );
    fs::write(&spec_path, spec.replace("maxLength: 60", "maxLength: 59")).unwrap();

    // After: `cargo build` alone regenerates the client from the edited spec.
    let after = build(&krate, &target_dir);
    assert!(
        after.errors.is_empty(),
        "the edited spec broke the build: {:?}",
        after.errors
    );
    for schema in ["PutRecordsResult", "PutRecordsResultEntry"] {
        let body = struct_body(&after.generated, schema);
        assert!(
            body.contains(&format!(
                "pub {PROBE_FIELD}: ::std::option::Option<::std::string::String>"
            )),
            "the new optional field is not in the generated {schema}:\n{body}"
        );
    }
    assert!(
        after.generated.contains("longer than 59 characters"),
        "maxLength 59 not generated"
    );
    assert!(
        !after.generated.contains("longer than 60 characters"),
        "maxLength 60 still generated"
    );
    // A broken spec stops `cargo build` with one line naming the file, line and problem.
    let broken = fs::read_to_string(&spec_path).unwrap().replacen(
        "      operationId: sendRecords\n",
        "      operationId: sendRecords\n      operationId: again\n",
        1,
    );
    fs::write(&spec_path, &broken).unwrap();
    let line = broken
        .lines()
        .position(|l| l == "      operationId: again")
        .unwrap()
        + 1;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--offline", "--lib"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a duplicate key must fail the build");
    assert!(
        stderr.contains(&format!(
            "error: openapi/dis-records.yaml: error: line {line} column"
        )) && stderr.contains("duplicate mapping key: operationId"),
        "unclear build error:\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "a panic, not a message:\n{stderr}"
    );

    fs::remove_dir_all(&krate).unwrap();
}

/// The `.rs` files below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
#[ignore = "builds the crate again: `.ci/run` runs it with `--ignored`"]
fn a_renamed_request_property_cannot_drift_silently() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // No hand-written JSON writer: the property's name appears in no string literal of `src/`
    // but in `validate.rs`, whose error messages name the fields (it writes no body).
    let mut sources = Vec::new();
    rust_files(&root.join("src"), &mut sources);
    sources.retain(|f| !f.ends_with("src/validate.rs"));
    for file in &sources {
        let text = fs::read_to_string(file).unwrap();
        assert!(
            !text.contains("\"partition_key\""),
            "{} writes the property name itself",
            file.display()
        );
    }

    let (target_dir, krate, _lock) = fresh_copy(root);

    let spec_path = krate.join("openapi").join("dis-records.yaml");
    let spec = fs::read_to_string(&spec_path).unwrap();
    let entry = spec
        .find("\n    PutRecordsRequestEntry:\n")
        .expect("PutRecordsRequestEntry in the spec");
    let at = entry
        + spec[entry..]
            .find("\n        partition_key:\n")
            .expect("PutRecordsRequestEntry.partition_key")
        + 1;
    let renamed = format!(
        "{}        partition_key_renamed:\n{}",
        &spec[..at],
        &spec[at + "        partition_key:\n".len()..]
    );
    fs::write(&spec_path, renamed).unwrap();

    let after = build(&krate, &target_dir);
    if after.errors.is_empty() {
        // It built: then the generated type carries the new name, and every hand-written path
        // serializes that type, so the new name is what goes on the wire.
        let body = struct_body(&after.generated, "PutRecordsRequestEntry");
        assert!(
            body.contains("pub partition_key_renamed:") && !body.contains("pub partition_key:"),
            "the rename did not reach the generated type:\n{body}"
        );
        eprintln!("the rename built: the generated type, and so the wire, carry the new name");
        fs::remove_dir_all(&krate).unwrap();
        return;
    }
    // It did not build: the errors name the hand-written files that must follow, and the field.
    let named: Vec<&String> = after
        .errors
        .iter()
        .filter(|e| e.contains("partition_key") && e.contains("src/"))
        .collect();
    assert!(
        !named.is_empty(),
        "the build failed without naming the field in hand-written code: {:?}",
        after.errors
    );
    for e in &named {
        assert!(
            !e.contains("dis_records_client.rs"),
            "the generated code itself broke: {e}"
        );
    }
    eprintln!(
        "the rename stops the build in: {:?}",
        named
            .iter()
            .filter_map(|e| e.lines().find(|l| l.contains("--> src/")))
            .collect::<Vec<_>>()
    );

    fs::remove_dir_all(&krate).unwrap();
}
