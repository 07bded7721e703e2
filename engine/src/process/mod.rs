//! Processes on madsim nodes: the [`jobmanager`] and the [`taskmanager`], and the
//! [`task`]s a TaskManager runs. They use madsim's time and network and feed
//! the pure core with events.

pub mod jobmanager;
pub mod resources;
pub mod task;
pub mod taskmanager;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use madsim::net::Endpoint;

use crate::trace::{TraceEvent, Tracer};

/// Bind a process's endpoint; a failure is traced (the process then ends).
pub(crate) async fn bind_endpoint(ip: IpAddr, port: u16, tracer: &Tracer, node: &str) -> Option<Arc<Endpoint>> {
    match Endpoint::bind(SocketAddr::new(ip, port)).await {
        Ok(ep) => Some(Arc::new(ep)),
        Err(e) => {
            tracer.record(
                node,
                TraceEvent::Note {
                    text: format!("bind failed: {e}"),
                },
            );
            None
        }
    }
}
