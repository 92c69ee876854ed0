//! A short library example: send a few records through a `Producer` to the local DIS endpoint
//! and print where each one went. The main job, with every flag, is the `dis-records` command
//! (`cargo run -p dis-records-cli -- send --help`).

use std::net::SocketAddr;

use dis_local::{LocalConfig, LocalDis};
use dis_records::{Credentials, DisClient, Producer, ProducerConfig, Record};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // An offline DIS endpoint (stream `newstream`, 4 partitions) on a free port.
    let local = LocalDis::start(
        LocalConfig::default(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await?;
    let client = DisClient::builder(local.endpoint(), "local-project")
        .credentials(Credentials::token("local"))
        .build()?;
    let producer = Producer::new(client, "newstream", ProducerConfig::default())?;
    let records = ["hello", "from", "dis-records"].map(Record::new);
    let summary = producer
        .send_all(records, |d| match &d.result {
            Ok(ack) => println!(
                "record {}: {} #{}",
                d.id, ack.partition_id, ack.sequence_number
            ),
            Err(e) => println!("record {}: failed: {e}", d.id),
        })
        .await;
    println!(
        "{} acknowledged, {} failed",
        summary.acknowledged, summary.failed
    );
    local.shutdown().await;
    Ok(())
}
