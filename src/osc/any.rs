//! [`AnyTarget`]: the target chosen at run time with `--target`, dispatching to My Apps or
//! instances. The trait's methods return `impl Future`, which cannot be boxed as `dyn`, so the
//! choice is an enum.

use super::client::OscClient;
use super::error::Result;
use super::instance::Instances;
use super::myapps::MyApps;
use super::target::{Deployment, Spec, Target, TargetKind, UpdateMethod};

/// My Apps or instances, picked by [`TargetKind`].
#[derive(Debug)]
pub enum AnyTarget<'a> {
    /// `--target myapp`.
    Myapp(MyApps<'a>),
    /// `--target instance`.
    Instance(Instances<'a>),
}

impl<'a> AnyTarget<'a> {
    /// The target of `kind` through `client`.
    pub fn new(client: &'a OscClient, kind: TargetKind) -> Self {
        match kind {
            TargetKind::Myapp => Self::Myapp(MyApps::new(client)),
            TargetKind::Instance => Self::Instance(Instances::new(client)),
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $t:ident => $call:expr) => {
        match $self {
            AnyTarget::Myapp($t) => $call,
            AnyTarget::Instance($t) => $call,
        }
    };
}

impl Target for AnyTarget<'_> {
    fn kind(&self) -> TargetKind {
        dispatch!(self, t => t.kind())
    }

    async fn find(&self, name: &str) -> Result<Option<Deployment>> {
        dispatch!(self, t => t.find(name).await)
    }

    async fn list(&self) -> Result<Vec<Deployment>> {
        dispatch!(self, t => t.list().await)
    }

    async fn create(&self, spec: &Spec) -> Result<Deployment> {
        dispatch!(self, t => t.create(spec).await)
    }

    async fn update(
        &self,
        existing: &Deployment,
        spec: &Spec,
    ) -> Result<(Deployment, UpdateMethod)> {
        dispatch!(self, t => t.update(existing, spec).await)
    }

    async fn status(&self, name: &str) -> Result<Deployment> {
        dispatch!(self, t => t.status(name).await)
    }

    async fn recreate(
        &self,
        existing: &Deployment,
        spec: &Spec,
    ) -> Result<(Deployment, UpdateMethod)> {
        dispatch!(self, t => t.recreate(existing, spec).await)
    }

    async fn check_update(&self, existing: &Deployment) -> Result<()> {
        dispatch!(self, t => t.check_update(existing).await)
    }

    async fn prerequisites(&self) -> Result<Vec<String>> {
        dispatch!(self, t => t.prerequisites().await)
    }

    async fn logs(&self, name: &str, tail: usize) -> Result<String> {
        dispatch!(self, t => t.logs(name, tail).await)
    }

    async fn restart(&self, name: &str) -> Result<()> {
        dispatch!(self, t => t.restart(name).await)
    }

    async fn remove(&self, name: &str) -> Result<Deployment> {
        dispatch!(self, t => t.remove(name).await)
    }
}
