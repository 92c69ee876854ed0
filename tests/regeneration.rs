//! The spec drives the code: a change to `openapi/dis-records.yaml` shows up in the client that
//! `cargo build` generates, with nothing else touched.
//!
//! The test copies the crate (without `target/`, `.git/`, `node_modules/`) to
//! `target/regen-check/crate`, builds its library there (`cargo build --offline --lib`, own
//! `CARGO_TARGET_DIR=target/regen-check`, so it never waits on or disturbs the main target dir),
//! and reads the generated `dis_records_client.rs` from the `OUT_DIR` that cargo reports. Then it
//! adds a new optional field to `PutRecordsRequestEntry` and lowers `stream_name`'s `maxLength`
//! in the copied spec, builds again, and checks that both changes are in the generated code and
//! were not there before.
//!
//! Cost: the first run compiles the dependencies once into `target/regen-check` (measured in
//! openapi/REVIEW.md); later runs rebuild only this crate, twice.

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

/// Runs `cargo build --offline --lib` in `krate` and returns the generated client's text,
/// read from the `OUT_DIR` of this crate's build script as cargo reports it.
fn build_and_read_generated(krate: &Path, target_dir: &Path) -> String {
    let start = Instant::now();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--offline", "--lib", "--message-format=json"])
        .current_dir(krate)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo build of the copied crate failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["message"]["rendered"].as_str().map(str::to_owned))
            .collect::<String>()
    );
    let out_dir = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| {
            v["reason"] == "build-script-executed"
                && v["package_id"]
                    .as_str()
                    .is_some_and(|id| id.contains("dis-records"))
        })
        .filter_map(|v| v["out_dir"].as_str().map(PathBuf::from))
        .next_back()
        .expect("cargo reports the build script's OUT_DIR");
    eprintln!(
        "regeneration: built {} in {:.1?}; generated {}",
        krate.display(),
        start.elapsed(),
        out_dir.join("dis_records_client.rs").display()
    );
    fs::read_to_string(out_dir.join("dis_records_client.rs")).expect("generated client")
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
fn a_spec_change_shows_up_in_the_generated_client() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target_dir = root.join("target").join("regen-check");
    fs::create_dir_all(&target_dir).unwrap();
    let _lock = DirLock::acquire(target_dir.join("crate.lock"));
    let krate = target_dir.join("crate");
    if krate.exists() {
        fs::remove_dir_all(&krate).unwrap();
    }
    copy_tree(root, &krate);

    // Before: the spec as committed.
    let before = build_and_read_generated(&krate, &target_dir);
    let entry = struct_body(&before, "PutRecordsRequestEntry");
    assert!(
        entry.contains("pub data:"),
        "baseline has PutRecordsRequestEntry.data:\n{entry}"
    );
    assert!(
        !before.contains(PROBE_FIELD),
        "{PROBE_FIELD} is already in the client"
    );
    assert!(
        before.contains("longer than 60 characters"),
        "baseline enforces stream_name maxLength 60"
    );
    assert!(!before.contains("longer than 59 characters"));

    // Edit the copied spec: one new optional field, one changed constraint.
    let spec_path = krate.join("openapi").join("dis-records.yaml");
    let spec = fs::read_to_string(&spec_path).unwrap();
    let schema = spec
        .find("\n    PutRecordsRequestEntry:\n")
        .expect("PutRecordsRequestEntry in the spec");
    let props = schema
        + spec[schema..]
            .find("\n      properties:\n")
            .expect("PutRecordsRequestEntry.properties")
        + "\n      properties:\n".len();
    let mut edited = spec.clone();
    edited.insert_str(
        props,
        &format!(
            "        {PROBE_FIELD}:\n          type: string\n          description: Added by tests/regeneration.rs.\n"
        ),
    );
    assert_eq!(
        edited.matches("maxLength: 60").count(),
        1,
        "one maxLength 60 (stream_name)"
    );
    let edited = edited.replace("maxLength: 60", "maxLength: 59");
    fs::write(&spec_path, edited).unwrap();

    // After: `cargo build` alone regenerates the client from the edited spec.
    let after = build_and_read_generated(&krate, &target_dir);
    let entry = struct_body(&after, "PutRecordsRequestEntry");
    assert!(
        entry.contains(&format!(
            "pub {PROBE_FIELD}: ::std::option::Option<::std::string::String>"
        )),
        "the new optional field is not in the generated PutRecordsRequestEntry:\n{entry}"
    );
    assert!(
        after.contains("longer than 59 characters"),
        "maxLength 59 not generated"
    );
    assert!(
        !after.contains("longer than 60 characters"),
        "maxLength 60 still generated"
    );

    fs::remove_dir_all(&krate).unwrap();
}
