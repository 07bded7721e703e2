//! The external services, each on its own node: [`source_log`],
//! [`sink_store`] and [`checkpoint_storage`].
//!
//! A service's state lives outside its node (shared with the harness), so it
//! is durable: killing the node makes the service unreachable, not forgetful.
//! Each connection is served in order, one request at a time.

pub mod checkpoint_storage;
pub mod sink_store;
pub mod source_log;

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;

use halab_engine::net;
use madsim::net::Endpoint;

/// Port every service listens on.
pub const SERVICE_PORT: u16 = 9000;

/// Serve `handler` on `addr` forever. `None` from the handler means the
/// request is not answered.
pub async fn serve<Req, Resp, H>(addr: SocketAddr, handler: H)
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
        madsim::task::spawn(async move {
            while let Ok(req) = rx.recv::<Req>().await {
                if let Some(resp) = handler(req) {
                    if tx.send(resp).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}
