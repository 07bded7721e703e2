//! Typed connections over madsim's reliable, ordered channels, and a small
//! request/response client.
//!
//! Messages are passed as `Box<dyn Any>` without serialisation. A connection
//! breaks (`ConnectionReset`) when the peer's process dies; during a network
//! partition messages wait and are retried by the simulator.

use std::any::Any;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use madsim::net::{Endpoint, Receiver, Sender};

/// Sending half of a connection.
#[derive(Debug)]
pub struct ConnTx(Sender);

/// Receiving half of a connection.
#[derive(Debug)]
pub struct ConnRx(Receiver);

impl ConnTx {
    pub async fn send<T: Any + Send + Sync>(&self, msg: T) -> io::Result<()> {
        self.0.send(Box::new(msg)).await
    }

    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

fn downcast<T: Any>(payload: Box<dyn Any + Send + Sync>) -> io::Result<T> {
    payload.downcast::<T>().map(|b| *b).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unexpected message type, wanted {}", std::any::type_name::<T>()),
        )
    })
}

impl ConnRx {
    pub async fn recv<T: Any>(&mut self) -> io::Result<T> {
        downcast(self.0.recv().await?)
    }

    /// The connection as a stream of typed messages; it ends with an error
    /// when the connection breaks.
    pub fn into_stream<T: Any + Send>(self) -> impl Stream<Item = io::Result<T>> + Send + Unpin {
        self.0.map(|r| r.and_then(downcast::<T>))
    }
}

/// Open a connection from `ep` to `addr`.
pub async fn connect(ep: &Endpoint, addr: SocketAddr) -> io::Result<(ConnTx, ConnRx)> {
    let (tx, rx) = ep.connect1(addr).await?;
    Ok((ConnTx(tx), ConnRx(rx)))
}

/// Accept the next incoming connection on `ep`.
pub async fn accept(ep: &Endpoint) -> io::Result<(ConnTx, ConnRx, SocketAddr)> {
    let (tx, rx, from) = ep.accept1().await?;
    Ok((ConnTx(tx), ConnRx(rx), from))
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    #[error("request to {0} timed out")]
    Timeout(SocketAddr),
    #[error("connection to {0} failed: {1}")]
    Io(SocketAddr, String),
}

/// A client that sends one request at a time and waits for its answer. After
/// a timeout the connection is dropped, so a late answer is never taken for
/// the answer to the next request.
pub struct RpcClient {
    ep: Arc<Endpoint>,
    addr: SocketAddr,
    timeout: Duration,
    conn: Option<(ConnTx, ConnRx)>,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RpcClient({})", self.addr)
    }
}

impl RpcClient {
    pub fn new(ep: Arc<Endpoint>, addr: SocketAddr, timeout: Duration) -> Self {
        // A zero timeout would fail every call (EngineConfig refuses it).
        assert!(!timeout.is_zero(), "invariant: a request timeout for {addr}");
        RpcClient {
            ep,
            addr,
            timeout,
            conn: None,
        }
    }

    async fn ensure_connected(&mut self) -> Result<(), RpcError> {
        if self.conn.is_none() {
            let c = connect(&self.ep, self.addr)
                .await
                .map_err(|e| RpcError::Io(self.addr, e.to_string()))?;
            self.conn = Some(c);
        }
        Ok(())
    }

    /// Send a request and wait for its answer.
    pub async fn call<Req: Any + Send + Sync, Resp: Any>(&mut self, req: Req) -> Result<Resp, RpcError> {
        self.ensure_connected().await?;
        let addr = self.addr;
        let (tx, rx) = self.conn.as_mut().expect("invariant: connected above");
        let exchange = async {
            tx.send(req).await?;
            rx.recv::<Resp>().await
        };
        match madsim::time::timeout(self.timeout, exchange).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => {
                self.conn = None;
                Err(RpcError::Io(addr, e.to_string()))
            }
            Err(_) => {
                self.conn = None;
                Err(RpcError::Timeout(addr))
            }
        }
    }
}
