//! The default chain, in Huawei's order (its OIDC link aside): the environment's AK/SK, the
//! profile file, the ECS metadata service, pod identity. The first link that gives
//! credentials is kept for the life of the chain; when none does, the error says what each
//! link said.

use std::sync::OnceLock;

use futures_util::future::BoxFuture;

use super::provider::{FetchError, Issued, Provider};
use super::{Credentials, env, fetch, metadata, pod, profile};
use crate::error::Error;

impl Credentials {
    /// The default chain, in Huawei's order: the environment's AK/SK
    /// (`HUAWEICLOUD_SDK_AK`, `HUAWEICLOUD_SDK_SK`, `HUAWEICLOUD_SDK_SECURITY_TOKEN`), the
    /// profile file ([`Credentials::profile_file`]), the ECS metadata service
    /// ([`Credentials::ecs_metadata`]), pod identity ([`Credentials::pod_identity`]). Tried
    /// when first needed (or at [`Credentials::ready`]); the first that gives credentials is
    /// kept. When none does, the error names each one tried and why it gave nothing.
    pub fn default_chain() -> Self {
        let lookup = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        let mut links: Vec<Box<dyn Provider>> = vec![
            Box::new(env::EnvAkSk),
            Box::new(profile::Profile::from_env(&lookup)),
        ];
        let metadata =
            lookup(metadata::ENV_ENDPOINT).unwrap_or_else(|| metadata::DEFAULT_ENDPOINT.to_owned());
        match fetch::base_url(metadata::ENV_ENDPOINT, &metadata) {
            Ok(endpoint) => links.push(Box::new(metadata::Metadata::new(endpoint))),
            Err(e) => links.push(Box::new(Unusable(format!("ECS metadata: {e}")))),
        }
        match (lookup(pod::ENV_URI), lookup(pod::ENV_TOKEN_FILE)) {
            (Some(uri), Some(file)) => links.push(Box::new(pod::PodIdentity {
                uri,
                token_file: file.into(),
            })),
            _ => links.push(Box::new(Unusable(format!(
                "pod identity: {} and {} are not both set",
                pod::ENV_URI,
                pod::ENV_TOKEN_FILE
            )))),
        }
        Self::from_provider(Chain::new(links))
    }

    /// What the main job uses: [`Credentials::from_env`], else the [`Credentials::default_chain`].
    pub fn from_env_or_default_chain() -> Result<Self, Error> {
        Ok(Self::from_env()?.unwrap_or_else(Self::default_chain))
    }
}

/// A link of the chain that cannot be used, and why.
struct Unusable(String);

impl Provider for Unusable {
    fn name(&self) -> String {
        self.0.split(':').next().unwrap_or("").to_owned()
    }

    fn fetch<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Issued, FetchError>> {
        let message = self.0.split_once(": ").map_or("", |(_, m)| m).to_owned();
        Box::pin(async move { Err(FetchError::new(message)) })
    }
}

/// Links tried in order until one gives credentials.
pub(crate) struct Chain {
    pub(crate) links: Vec<Box<dyn Provider>>,
    /// The link that gave credentials first.
    chosen: OnceLock<usize>,
}

impl Chain {
    pub(crate) fn new(links: Vec<Box<dyn Provider>>) -> Chain {
        Chain {
            links,
            chosen: OnceLock::new(),
        }
    }
}

impl Provider for Chain {
    fn name(&self) -> String {
        match self.chosen.get() {
            Some(&i) => format!("default chain: {}", self.links[i].name()),
            None => "default chain".to_owned(),
        }
    }

    fn fetch<'a>(&'a self, project_id: &'a str) -> BoxFuture<'a, Result<Issued, FetchError>> {
        Box::pin(async move {
            if let Some(&i) = self.chosen.get() {
                return self.links[i].fetch(project_id).await;
            }
            let mut tried = Vec::with_capacity(self.links.len());
            for (i, link) in self.links.iter().enumerate() {
                match link.fetch(project_id).await {
                    Ok(issued) => {
                        let _ = self.chosen.set(i);
                        tracing::info!(provider = %link.name(), "default chain: credentials found");
                        return Ok(issued);
                    }
                    Err(e) => tried.push(format!("{}: {}", link.name(), e.message)),
                }
            }
            Err(FetchError::new(format!(
                "no provider gave credentials; tried, in order: {}",
                tried.join("; ")
            )))
        })
    }
}
