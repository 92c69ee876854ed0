//! The default chain, in Huawei's order (its OIDC link aside): the environment's AK/SK, the
//! profile file, the ECS metadata service, pod identity. The first link that gives
//! credentials is kept for the life of the chain; when none does, the error says what each
//! link said.

use std::sync::OnceLock;

use futures_util::future::BoxFuture;

use super::provider::{FetchError, Issued, Provider};

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
