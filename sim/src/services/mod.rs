//! The external services, each on its own node: [`source_log`],
//! [`sink_store`], [`checkpoint_storage`] and, with HA, [`coordination`].
//!
//! A service's state lives outside its node (shared with the harness), so it
//! is durable: killing the node makes the service unreachable, not forgetful.
//! Each connection is served in order, one request at a time.

pub mod checkpoint_storage;
pub mod coordination;
pub mod sink_store;
pub mod source_log;

use std::any::Any;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use halab_engine::config::Sabotage;
use halab_engine::net;
use madsim::net::Endpoint;

/// Whether a service checks the writer's epoch (or fencing token) and
/// refuses stale writers. Ignored only in the test-only variants that the
/// checkers must catch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fencing {
    Checked,
    Ignored,
}

impl Fencing {
    /// The sink store's fencing under `sabotage`.
    pub fn of_sink(sabotage: Sabotage) -> Fencing {
        if sabotage.fences_sink() {
            Fencing::Checked
        } else {
            Fencing::Ignored
        }
    }

    /// The fencing of the coordination service and checkpoint storage under
    /// `sabotage`.
    pub fn of_cluster(sabotage: Sabotage) -> Fencing {
        if sabotage.fences_cluster() {
            Fencing::Checked
        } else {
            Fencing::Ignored
        }
    }

    pub fn is_checked(self) -> bool {
        self == Fencing::Checked
    }
}

/// Port every service listens on.
pub const SERVICE_PORT: u16 = 9000;

/// A service's fault switch: a latency factor (1 = normal).
#[derive(Debug)]
pub struct ServiceControl {
    factor: AtomicU32,
}

/// The nominal service time a slow factor multiplies (on top of the network).
pub const NOMINAL_SERVICE_TIME: Duration = Duration::from_millis(5);

impl ServiceControl {
    pub fn new() -> Arc<Self> {
        Arc::new(ServiceControl {
            factor: AtomicU32::new(1),
        })
    }

    pub fn set_factor(&self, factor: u32) {
        self.factor.store(factor.max(1), Ordering::Relaxed);
    }

    pub fn factor(&self) -> u32 {
        self.factor.load(Ordering::Relaxed)
    }

    /// Extra time each request takes while slowed.
    pub fn extra_delay(&self) -> Duration {
        NOMINAL_SERVICE_TIME * (self.factor() - 1)
    }
}

/// Serve `handler` on `addr` forever. `None` from the handler means the
/// request is not answered. A slowed service delays each request.
pub async fn serve<Req, Resp, H>(addr: SocketAddr, control: Arc<ServiceControl>, handler: H)
where
    Req: Any + Send,
    Resp: Any + Send + Sync,
    H: Fn(Req) -> Option<Resp> + Send + Sync + 'static,
{
    let Ok(ep) = Endpoint::bind(addr).await else {
        return;
    };
    let handler = Arc::new(handler);
    while let Ok((tx, mut rx, _)) = net::accept(&ep).await {
        let handler = handler.clone();
        let control = control.clone();
        madsim::task::spawn(async move {
            while let Ok(req) = rx.recv::<Req>().await {
                let extra = control.extra_delay();
                if !extra.is_zero() {
                    madsim::time::sleep(extra).await;
                }
                if let Some(resp) = handler(req) {
                    if tx.send(resp).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}
