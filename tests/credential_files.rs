//! Credential files named by the environment (`HC_CONTAINER_AUTHORIZATION_TOKEN_FILE`,
//! `HUAWEICLOUD_SDK_CREDENTIALS_FILE`) that are not regular files: refused at once with an
//! error naming the variable and the path, without holding a runtime thread. The environment is
//! the process's, so this binary has one test.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dis_records::{Credentials, Error};

/// Releases a reader blocked opening the FIFO at its path: opening a FIFO for reading and
/// writing never waits, and gives the reader the writer it waits for.
struct Unblock(PathBuf);

impl Drop for Unblock {
    fn drop(&mut self) {
        let _ = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.0);
    }
}

/// How long `credentials.ready()` takes to fail, and its error; panics when it has not
/// failed within 5 s.
async fn refused(credentials: Credentials, fifo: &Path, name: &str) -> (Duration, Error) {
    let started = Instant::now();
    // On a task of its own: a blocking read holds that worker, not this test's thread.
    let task = tokio::spawn(async move { credentials.ready().await });
    let Ok(joined) = tokio::time::timeout(Duration::from_secs(5), task).await else {
        let _unblock = Unblock(fifo.to_owned());
        panic!(
            "{name}: still waiting for credentials after {:?}",
            started.elapsed()
        );
    };
    let err = joined.unwrap().unwrap_err();
    (started.elapsed(), err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_or_a_directory_as_a_credential_file_is_refused_at_once() {
    let dir = std::env::temp_dir().join(format!("dis-records-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo {}", fifo.display());
    let fifo_link = dir.join("link-to-fifo");
    std::os::unix::fs::symlink(&fifo, &fifo_link).unwrap();
    let profile = dir.join("credentials");
    std::fs::write(
        &profile,
        "[basic]\nak = PROFILEAK\nsk = SECRET-PROFILE-SK\n",
    )
    .unwrap();
    let profile_link = dir.join("link-to-credentials");
    std::os::unix::fs::symlink(&profile, &profile_link).unwrap();

    const TOKEN_FILE: &str = "HC_CONTAINER_AUTHORIZATION_TOKEN_FILE";
    const PROFILE_FILE: &str = "HUAWEICLOUD_SDK_CREDENTIALS_FILE";
    for (file, is) in [
        (&fifo, "a FIFO"),
        (&fifo_link, "a FIFO"),
        (&dir, "a directory"),
    ] {
        // SAFETY: this binary's only test; no other thread reads the environment meanwhile.
        unsafe {
            std::env::set_var("HC_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/");
            std::env::set_var(TOKEN_FILE, file);
            std::env::set_var(PROFILE_FILE, file);
        }
        for (name, credentials, variable) in [
            (
                "pod identity",
                Credentials::pod_identity().unwrap(),
                TOKEN_FILE,
            ),
            ("profile file", Credentials::profile_file(), PROFILE_FILE),
        ] {
            let (took, err) = refused(credentials, &fifo, name).await;
            println!("{name}, {}: refused in {took:?}: {err}", file.display());
            assert!(matches!(err, Error::Credentials { .. }), "{err:?}");
            let text = err.to_string();
            assert!(took < Duration::from_secs(1), "{name}: {took:?}: {text}");
            for says in [
                is,
                "not a regular file",
                variable,
                &file.display().to_string(),
            ] {
                assert!(text.contains(says), "{name}: {says:?} not in {text}");
            }
        }
    }

    // A symlink to a regular file is read.
    unsafe { std::env::set_var(PROFILE_FILE, &profile_link) };
    let credentials = Credentials::profile_file();
    credentials.ready().await.unwrap();
    assert!(!format!("{credentials:?}").contains("SECRET"));
    let _ = std::fs::remove_dir_all(dir);
}
