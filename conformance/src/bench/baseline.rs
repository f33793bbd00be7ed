//! The machine's own limit: a bare tokio-tungstenite broadcast server run in the same process and driven the same
//! way as a profile, so each profile's figures can be read as a ratio to it.
//!
//! It does what any fan-out server must do and nothing else: one task per client, a queue per client, and each
//! wake-up feeds every queued frame before one flush (batching measured at 3–4× the throughput of one flush per
//! frame on this kind of machine). No protocol, no authentication, no subscriptions, no schema.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::stamp::{Stamp, StampCodec};
use super::subject::{BoxFuture, Subject, SubscriberPlan};
use super::BenchError;
use crate::client::Request;

/// Frames written per flush at most.
const WRITE_BATCH: usize = 64;
/// Read and write buffers per client.
const BUFFER_BYTES: usize = 8 * 1024;

type Clients = Arc<Mutex<Vec<mpsc::UnboundedSender<Utf8Bytes>>>>;

/// A bare WebSocket broadcast server on an ephemeral loopback port.
pub struct BaselineServer {
    addr: SocketAddr,
    clients: Clients,
    accept: JoinHandle<()>,
}

impl Drop for BaselineServer {
    fn drop(&mut self) {
        self.accept.abort();
        // Client tasks end when their queue closes or their peer leaves.
        lock(&self.clients).clear();
    }
}

fn lock(clients: &Clients) -> MutexGuard<'_, Vec<mpsc::UnboundedSender<Utf8Bytes>>> {
    clients.lock().unwrap_or_else(PoisonError::into_inner)
}

impl BaselineServer {
    pub async fn start() -> Result<BaselineServer, BenchError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|source| BenchError::Io {
                what: "binding the baseline server to 127.0.0.1:0".into(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| BenchError::Io {
            what: "reading the baseline server's address".into(),
            source,
        })?;
        let clients = Clients::default();
        let registry = clients.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, registry.clone()));
            }
        });
        Ok(BaselineServer {
            addr,
            clients,
            accept,
        })
    }

    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Queues `text` for every connected client; returns how many clients it was queued for.
    pub fn broadcast(&self, text: &str) -> usize {
        let frame = Utf8Bytes::from(text.to_owned());
        let mut clients = lock(&self.clients);
        clients.retain(|client| client.send(frame.clone()).is_ok());
        clients.len()
    }
}

async fn serve(stream: TcpStream, clients: Clients) {
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default()
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES);
    let Ok(mut socket) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
    else {
        return;
    };
    let (queue, mut frames) = mpsc::unbounded_channel();
    lock(&clients).push(queue);
    loop {
        tokio::select! {
            frame = frames.recv() => {
                let Some(frame) = frame else { break };
                if socket.feed(Message::Text(frame)).await.is_err() {
                    break;
                }
                let mut batch = 1;
                while batch < WRITE_BATCH {
                    let Ok(frame) = frames.try_recv() else { break };
                    if socket.feed(Message::Text(frame)).await.is_err() {
                        return;
                    }
                    batch += 1;
                }
                if socket.flush().await.is_err() {
                    break;
                }
            }
            incoming = socket.next() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// The baseline server as a benchmark subject: subscribers connect to it, changes are frames it broadcasts.
pub struct Baseline {
    server: BaselineServer,
    codec: StampCodec,
}

impl Baseline {
    /// Starts a baseline server whose frames carry run `run`'s stamps.
    pub async fn start(run: &str) -> Result<Baseline, BenchError> {
        Ok(Baseline {
            server: BaselineServer::start().await?,
            codec: StampCodec::token(run),
        })
    }

    pub fn server(&self) -> &BaselineServer {
        &self.server
    }
}

impl Subject for Baseline {
    fn name(&self) -> &str {
        "baseline"
    }

    fn plan(&self, _index: usize) -> SubscriberPlan {
        SubscriberPlan {
            request: Request::new(self.server.url()),
            steps: Vec::new(),
        }
    }

    fn acknowledgement(&self) -> &'static str {
        "none (the frame is queued for every client)"
    }

    fn codec(&self) -> &StampCodec {
        &self.codec
    }

    fn cause(&self, stamp: Stamp) -> BoxFuture<'_, Result<(), BenchError>> {
        self.server.broadcast(&self.codec.text(stamp));
        Box::pin(async { Ok(()) })
    }
}
