//! A broadcast server that is wrong on purpose, in ways fixed by each client's accept order `k`:
//! clients with even `k` never get change 3, clients 5 and 15 get change 5 twice, client 7 also gets a stamp of a
//! change that was never caused, and the last client is closed with 1013 right after change 6.

use std::sync::{Arc, Mutex, PoisonError};

use conformance::bench::{BenchError, BoxFuture, Stamp, StampCodec, Subject, SubscriberPlan};
use conformance::client::Request;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

const DROPPED: u32 = 3;
const DOUBLED: u32 = 5;
const CLOSED_AFTER: u32 = 6;
const NEVER_CAUSED: u32 = 99;

/// What `expected_faults` predicts the accounting finds.
pub struct Faults {
    pub lost: usize,
    pub subscribers_with_loss: usize,
    pub duplicated: usize,
    pub unexpected: usize,
    /// The fewest changes one subscriber receives.
    pub worst: usize,
}

/// The faults of `clients` clients and `changes` changes, by the rules above.
pub fn expected_faults(clients: usize, changes: usize) -> Faults {
    let last = clients - 1;
    let mut faults = Faults {
        lost: 0,
        subscribers_with_loss: 0,
        duplicated: 0,
        unexpected: 0,
        worst: changes,
    };
    for k in 0..clients {
        let mut received = changes;
        if k % 2 == 0 {
            received -= 1;
        }
        if k == last {
            received -= changes - 1 - CLOSED_AFTER as usize;
        }
        if k == 5 || k == 15 {
            faults.duplicated += 1;
        }
        if k == 7 {
            faults.unexpected += 1;
        }
        faults.lost += changes - received;
        faults.subscribers_with_loss += usize::from(received < changes);
        faults.worst = faults.worst.min(received);
    }
    faults
}

type Clients = Arc<Mutex<Vec<mpsc::UnboundedSender<(Stamp, String)>>>>;

pub struct Faulty {
    url: String,
    clients: Clients,
    codec: StampCodec,
}

impl Faulty {
    /// A faulty server for `expected` clients; its accept loop ends with the test's runtime.
    pub async fn start(run: &str, expected: usize) -> Faulty {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url = format!("ws://{}/", listener.local_addr().expect("local addr"));
        let clients = Clients::default();
        let registry = clients.clone();
        let codec = StampCodec::token(run);
        let faulty_codec = codec.clone();
        tokio::spawn(async move {
            let mut k = 0;
            while let Ok((stream, _)) = listener.accept().await {
                let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
                    continue;
                };
                let (queue, frames) = mpsc::unbounded_channel();
                registry
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(queue);
                tokio::spawn(serve(
                    socket,
                    frames,
                    k,
                    k + 1 == expected,
                    faulty_codec.clone(),
                ));
                k += 1;
            }
        });
        Faulty {
            url,
            clients,
            codec,
        }
    }
}

async fn serve(
    mut socket: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    mut frames: mpsc::UnboundedReceiver<(Stamp, String)>,
    k: usize,
    last: bool,
    codec: StampCodec,
) {
    while let Some((stamp, text)) = frames.recv().await {
        let mut out = vec![text.clone()];
        match stamp {
            Stamp::Change(DROPPED) if k % 2 == 0 => out.clear(),
            Stamp::Change(DOUBLED) if k == 5 || k == 15 => out.push(text),
            Stamp::Change(0) if k == 7 => out.push(codec.text(Stamp::Change(NEVER_CAUSED))),
            _ => {}
        }
        for frame in out {
            if socket.send(Message::text(frame)).await.is_err() {
                return;
            }
        }
        if last && stamp == Stamp::Change(CLOSED_AFTER) {
            let close = CloseFrame {
                code: CloseCode::Again,
                reason: "outbound queue full".into(),
            };
            let _ = socket.close(Some(close)).await;
            // Wait for the client's close so the close frame is read before the TCP connection ends.
            while let Some(Ok(_)) = socket.next().await {}
            return;
        }
    }
}

impl Subject for Faulty {
    fn name(&self) -> &str {
        "faulty"
    }

    fn plan(&self, _index: usize) -> SubscriberPlan {
        SubscriberPlan {
            request: Request::new(self.url.clone()),
            steps: Vec::new(),
        }
    }

    fn codec(&self) -> &StampCodec {
        &self.codec
    }

    fn cause(&self, stamp: Stamp) -> BoxFuture<'_, Result<(), BenchError>> {
        let text = self.codec.text(stamp);
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|client| client.send((stamp, text.clone())).is_ok());
        Box::pin(async { Ok(()) })
    }
}
