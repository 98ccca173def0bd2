//! Key-value buckets on JetStream, made so that Debian's nats-server 2.9
//! takes them: the client's `create_key_value` asks the account for
//! fields that server does not send, so the bucket's stream is made here
//! with the settings a KV bucket has, and bound.

use async_nats::jetstream;

use crate::error::Error;

/// The bucket `bucket`, its stream made first if it is missing.
pub(crate) async fn bucket(js: &jetstream::Context, bucket: &str, what: &str) -> Result<jetstream::kv::Store, Error> {
    use jetstream::stream::{Config, DiscardPolicy};
    let err = |e: &dyn std::fmt::Display| {
        Error::Cluster(format!("NATS JetStream: cannot make the {what} bucket {bucket}: {e}"))
    };
    js.get_or_create_stream(Config {
        name: format!("KV_{bucket}"),
        description: Some(format!("wasmon {what}")),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    })
    .await
    .map_err(|e| err(&e))?;
    js.get_key_value(bucket).await.map_err(|e| err(&e))
}
