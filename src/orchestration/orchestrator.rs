//! Several services with dependencies, started as early as their dependencies
//! allow and stopped in reverse, with the same interface as one executor.

use std::collections::HashSet;
use std::ops::{Deref, DerefMut};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::error::OrchestrationError;
use super::executor::Executor;
use super::service::Service;

/// Named services with dependencies.
///
/// A service starts only once every service it depends on is ready; services
/// whose dependencies are ready start concurrently. A failed start stops
/// whatever had started, in reverse order, and names the service that failed.
/// Stop goes in reverse order of readiness and goes on past a failing stop.
pub struct Orchestrator {
    name: String,
    entries: Vec<Entry>,
    /// Indexes into `entries`, in the order they became ready.
    started: Vec<usize>,
}

struct Entry {
    name: String,
    depends_on: Vec<String>,
    service: Option<Box<dyn Service>>,
}

impl std::fmt::Debug for Orchestrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let services: Vec<&str> = self.entries.iter().map(|e| e.name.as_str()).collect();
        f.debug_struct("Orchestrator")
            .field("name", &self.name)
            .field("services", &services)
            .finish()
    }
}

impl Orchestrator {
    /// An empty orchestrator; `name` appears in its errors.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            entries: Vec::new(),
            started: Vec::new(),
        }
    }

    /// Adds `service`, to start after every service named in `depends_on` is
    /// ready. Names are checked at `start()`, so services can be added in any
    /// order.
    pub fn service(
        mut self,
        service: impl Service + 'static,
        depends_on: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.entries.push(Entry {
            name: service.name().to_owned(),
            depends_on: depends_on.into_iter().map(Into::into).collect(),
            service: Some(Box::new(service)),
        });
        self
    }

    /// The orchestrator's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The service called `name`, to read its state.
    pub fn get(&self, name: &str) -> Option<&dyn Service> {
        self.entries
            .iter()
            .find(|entry| entry.name == name)
            .and_then(|entry| entry.service.as_deref())
    }

    /// The executor called `name`: its port, output and process group.
    pub fn executor(&self, name: &str) -> Option<&Executor> {
        self.get(name).and_then(Service::as_executor)
    }

    /// The names of the services in the order they became ready.
    pub fn start_order(&self) -> Vec<&str> {
        self.started
            .iter()
            .map(|&index| self.entries[index].name.as_str())
            .collect()
    }

    fn check(&self) -> Result<(), OrchestrationError> {
        let mut names = HashSet::new();
        for entry in &self.entries {
            if !names.insert(entry.name.as_str()) {
                return Err(OrchestrationError::DuplicateService {
                    orchestrator: self.name.clone(),
                    service: entry.name.clone(),
                });
            }
        }
        for entry in &self.entries {
            if let Some(missing) = entry
                .depends_on
                .iter()
                .find(|dependency| !names.contains(dependency.as_str()))
            {
                return Err(OrchestrationError::UnknownDependency {
                    orchestrator: self.name.clone(),
                    service: entry.name.clone(),
                    dependency: missing.clone(),
                });
            }
        }
        // Peel off services whose dependencies are all peeled; what remains
        // is in (or waits on) a cycle, and is refused before anything starts.
        let mut resolved: HashSet<&str> = HashSet::new();
        loop {
            let before = resolved.len();
            for entry in &self.entries {
                if entry
                    .depends_on
                    .iter()
                    .all(|d| resolved.contains(d.as_str()))
                {
                    resolved.insert(entry.name.as_str());
                }
            }
            if resolved.len() == before {
                break;
            }
        }
        if resolved.len() < self.entries.len() {
            return Err(OrchestrationError::DependencyCycle {
                orchestrator: self.name.clone(),
                services: self
                    .entries
                    .iter()
                    .filter(|entry| !resolved.contains(entry.name.as_str()))
                    .map(|entry| entry.name.clone())
                    .collect(),
            });
        }
        Ok(())
    }

    /// Starts every service, each as soon as its dependencies are ready, and
    /// returns once all are ready. On failure, lets the starts already under
    /// way finish (each is bounded by its own timeout), stops everything that
    /// started, in reverse order, and returns
    /// [`OrchestrationError::ServiceFailed`]. Unknown, duplicate and cyclic
    /// dependencies are refused before anything is spawned.
    pub async fn start(&mut self) -> Result<(), OrchestrationError> {
        self.check()?;
        let ready: HashSet<usize> = self.started.iter().copied().collect();
        let mut ready_names: HashSet<String> = ready
            .iter()
            .map(|&index| self.entries[index].name.clone())
            .collect();
        let mut launched = ready.clone();
        let mut in_flight = FuturesUnordered::new();
        let mut failure: Option<(String, OrchestrationError)> = None;
        loop {
            if failure.is_none() {
                for (index, entry) in self.entries.iter_mut().enumerate() {
                    let unblocked = entry.depends_on.iter().all(|d| ready_names.contains(d));
                    if launched.contains(&index) || !unblocked {
                        continue;
                    }
                    if let Some(mut service) = entry.service.take() {
                        launched.insert(index);
                        in_flight.push(async move {
                            let result = service.start().await;
                            (index, service, result)
                        });
                    }
                }
            }
            let Some((index, service, result)) = in_flight.next().await else {
                break;
            };
            self.entries[index].service = Some(service);
            match result {
                Ok(()) => {
                    self.started.push(index);
                    ready_names.insert(self.entries[index].name.clone());
                }
                Err(error) => {
                    if failure.is_none() {
                        failure = Some((self.entries[index].name.clone(), error));
                    }
                }
            }
        }
        if let Some((service, error)) = failure {
            // What had started is stopped; errors of those stops are secondary
            // to the start failure, which is what the caller must see.
            let _ = self.stop().await;
            return Err(OrchestrationError::ServiceFailed {
                service,
                source: Box::new(error),
            });
        }
        Ok(())
    }

    /// Stops every started service in reverse order of readiness, going on
    /// past failures, which are reported together at the end.
    pub async fn stop(&mut self) -> Result<(), OrchestrationError> {
        let mut failures = Vec::new();
        while let Some(index) = self.started.pop() {
            let entry = &mut self.entries[index];
            if let Some(service) = entry.service.as_mut()
                && let Err(error) = service.stop().await
            {
                failures.push((entry.name.clone(), error));
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(OrchestrationError::StopFailed {
                orchestrator: self.name.clone(),
                failures,
            })
        }
    }

    /// Kills every started service at once, in reverse order.
    pub fn kill(&mut self) {
        while let Some(index) = self.started.pop() {
            if let Some(service) = self.entries[index].service.as_mut() {
                service.kill();
            }
        }
    }

    /// True while every service runs.
    pub fn is_running(&self) -> bool {
        !self.entries.is_empty()
            && self
                .entries
                .iter()
                .all(|entry| entry.service.as_ref().is_some_and(|s| s.is_running()))
    }
}

impl Drop for Orchestrator {
    fn drop(&mut self) {
        self.kill();
    }
}

#[async_trait]
impl Service for Orchestrator {
    fn name(&self) -> &str {
        &self.name
    }
    async fn start(&mut self) -> Result<(), OrchestrationError> {
        Orchestrator::start(self).await
    }
    async fn stop(&mut self) -> Result<(), OrchestrationError> {
        Orchestrator::stop(self).await
    }
    fn kill(&mut self) {
        Orchestrator::kill(self);
    }
    fn is_running(&self) -> bool {
        Orchestrator::is_running(self)
    }
}

/// Starts `orchestrator` and returns a guard that owns it: call
/// [`Orchestrated::stop`] for a graceful, checked stop; if the guard is
/// dropped instead (a failed assertion, a panic), every process is killed
/// with its group at once.
pub async fn orchestrated(
    mut orchestrator: Orchestrator,
) -> Result<Orchestrated, OrchestrationError> {
    orchestrator.start().await?;
    Ok(Orchestrated { orchestrator })
}

/// A started orchestrator that cannot outlive its scope; see [`orchestrated`].
#[derive(Debug)]
pub struct Orchestrated {
    orchestrator: Orchestrator,
}

impl Orchestrated {
    /// Stops every service gracefully, in reverse order.
    pub async fn stop(mut self) -> Result<(), OrchestrationError> {
        self.orchestrator.stop().await
    }
}

impl Deref for Orchestrated {
    type Target = Orchestrator;
    fn deref(&self) -> &Orchestrator {
        &self.orchestrator
    }
}

impl DerefMut for Orchestrated {
    fn deref_mut(&mut self) -> &mut Orchestrator {
        &mut self.orchestrator
    }
}
