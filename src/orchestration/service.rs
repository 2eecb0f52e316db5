//! The start/stop interface shared by one executor and a whole orchestrator,
//! so an orchestrator can contain either and a test can hold either.

use std::process::ExitStatus;

use async_trait::async_trait;

use super::error::OrchestrationError;
use super::executor::Executor;

/// Something that can be started (returning once ready), stopped (waiting
/// until it is gone) and killed at once.
#[async_trait]
pub trait Service: Send {
    /// The name errors and orchestrators use for it.
    fn name(&self) -> &str;
    /// Starts and returns once ready.
    async fn start(&mut self) -> Result<(), OrchestrationError>;
    /// Stops gracefully and waits until nothing of it is left.
    async fn stop(&mut self) -> Result<(), OrchestrationError>;
    /// Stops at once, synchronously: the path of `Drop` and of panics.
    fn kill(&mut self);
    /// True while it runs.
    fn is_running(&self) -> bool;
    /// The executor behind this service, if it is one: lets an orchestrator
    /// hand out ports and output of the processes it runs.
    fn as_executor(&self) -> Option<&Executor> {
        None
    }
}

#[async_trait]
impl Service for Executor {
    fn name(&self) -> &str {
        Executor::name(self)
    }
    async fn start(&mut self) -> Result<(), OrchestrationError> {
        Executor::start(self).await
    }
    async fn stop(&mut self) -> Result<(), OrchestrationError> {
        Executor::stop(self).await.map(|_: Option<ExitStatus>| ())
    }
    fn kill(&mut self) {
        Executor::kill(self);
    }
    fn is_running(&self) -> bool {
        Executor::is_running(self)
    }
    fn as_executor(&self) -> Option<&Executor> {
        Some(self)
    }
}
