//! The default chain reads the process environment, so it has a test binary of its own (one
//! test: nothing else here touches the environment). It says what it tried when nothing gives
//! credentials, and keeps the first link that does.

use std::net::SocketAddr;

use dis_local::{LocalConfig, LocalDis};
use dis_records::{Credentials, DisClient, Error, Record};

#[tokio::test]
async fn the_default_chain_names_every_provider_it_tried_then_finds_the_metadata() {
    let dir = std::env::temp_dir().join(format!("dis-records-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // SAFETY: this binary's only test; no other thread reads the environment meanwhile.
    unsafe {
        for name in [
            "HUAWEICLOUD_SDK_AK",
            "HUAWEICLOUD_SDK_SK",
            "HUAWEICLOUD_SDK_SECURITY_TOKEN",
            "HC_CONTAINER_CREDENTIALS_FULL_URI",
            "HC_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        ] {
            std::env::remove_var(name);
        }
        std::env::set_var("HUAWEICLOUD_SDK_CREDENTIALS_FILE", dir.join("missing"));
        std::env::set_var("DIS_METADATA_ENDPOINT", "http://127.0.0.1:1");
    }
    let err = Credentials::default_chain().ready().await.unwrap_err();
    assert!(matches!(err, Error::Credentials { .. }), "{err:?}");
    let text = err.to_string();
    for tried in [
        "environment (HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK): HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are not set",
        "profile file",
        "missing: does not exist",
        "ECS metadata (http://127.0.0.1:1/openstack/latest/securitykey)",
        "could not connect",
        "pod identity: HC_CONTAINER_CREDENTIALS_FULL_URI and HC_CONTAINER_AUTHORIZATION_TOKEN_FILE are not both set",
    ] {
        assert!(text.contains(tried), "{tried:?} not in: {text}");
    }

    // A profile file: the chain's second link.
    let profile = dir.join("credentials");
    std::fs::write(
        &profile,
        "[basic]\nak = PROFILEAK\nsk = SECRET-PROFILE-SK\n",
    )
    .unwrap();
    unsafe { std::env::set_var("HUAWEICLOUD_SDK_CREDENTIALS_FILE", &profile) };
    let chain = Credentials::default_chain();
    chain.ready().await.unwrap();
    assert!(!format!("{chain:?}").contains("SECRET"));

    // The metadata service: the third link, kept once found.
    let dis = LocalDis::start(
        LocalConfig::default().with_metadata(true),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    unsafe {
        std::env::set_var("HUAWEICLOUD_SDK_CREDENTIALS_FILE", dir.join("missing"));
        std::env::set_var("DIS_METADATA_ENDPOINT", dis.endpoint());
    }
    let chain = Credentials::from_env_or_default_chain().unwrap();
    let client = DisClient::builder(dis.endpoint(), "p")
        .credentials(chain.clone())
        .build()
        .unwrap();
    client.send("newstream", &[Record::new("x")]).await.unwrap();
    assert_eq!(dis.stats().records_stored, 1);
    assert!(format!("{chain:?}").contains("Provided"), "{chain:?}");
    let _ = std::fs::remove_dir_all(dir);
}
