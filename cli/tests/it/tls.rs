//! `--ca-file`: an endpoint whose certificate a private CA issued, served by `dis-records local
//! --tls-cert --tls-key`; trusted with the CA's certificate, refused (with the cause) without.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

fn folder(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A private CA, and a certificate it issued for 127.0.0.1 with its key: the files `ca.pem`,
/// `cert.pem`, `key.pem` in `dir`.
fn private_ca(dir: &Path) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.distinguished_name
        .push(DnType::CommonName, "dis-records test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let mut server =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "local DIS");
    let key = KeyPair::generate().unwrap();
    let cert = server.signed_by(&key, &ca).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
}

#[test]
fn a_private_ca_is_trusted_with_ca_file_and_refused_without() {
    let dir = folder("ca");
    private_ca(&dir);
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let mut local = Command::new(env!("CARGO_BIN_EXE_dis-records"))
        .args(["local", "--listen", "127.0.0.1:0"])
        .args([
            "--tls-cert",
            &path("cert.pem"),
            "--tls-key",
            &path("key.pem"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(local.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let send = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dis-records"))
            .args([
                "send",
                "--endpoint",
                &url,
                "--project-id",
                "p",
                "--token",
                "t",
            ])
            .args([
                "--no-progress",
                "--json",
                "--generate",
                "3",
                "--deadline-s",
                "2",
            ])
            .args(extra)
            .env_remove("DIS_ENDPOINT")
            .env_remove("HUAWEICLOUD_SDK_AK")
            .env_remove("HUAWEICLOUD_SDK_SK")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };

    // Trusted through the CA file.
    let out = send(&["--ca-file", &path("ca.pem")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // Read back over HTTPS, trusting the same CA.
    let ca = reqwest::Certificate::from_pem(&std::fs::read(dir.join("ca.pem")).unwrap()).unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let counts: serde_json::Value = client
        .get(format!("{url}/local/v1/streams/newstream"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let stored: u64 = counts["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["records"].as_u64().unwrap())
        .sum();
    assert_eq!(stored, 3, "{counts}");

    // Without it: the certificate is not trusted, and the records say so.
    let out = send(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let causes = summary["failures"].to_string();
    assert!(causes.contains("expired: transport"), "{causes}");
    assert!(
        causes.to_lowercase().contains("certificate") || causes.contains("UnknownIssuer"),
        "{causes}"
    );

    // A file that holds no certificate: a usage error, nothing sent.
    std::fs::write(dir.join("empty.pem"), "not a certificate\n").unwrap();
    let out = send(&["--ca-file", &path("empty.pem")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--ca-file"), "{stderr}");

    unsafe { libc::kill(local.id() as i32, libc::SIGTERM) };
    assert_eq!(local.wait().unwrap().code(), Some(0));
    std::fs::remove_dir_all(&dir).unwrap();
}
