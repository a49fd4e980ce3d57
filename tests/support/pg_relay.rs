//! A TCP relay between the bot and PostgreSQL that a test (or bench) controls.
//!
//! [`PgRelay::start`] listens on `127.0.0.1:0` and forwards every connection to the upstream
//! address. [`PgRelay::cut`] plays a database lost mid-run: every open connection is closed
//! and the listener is dropped, so new connections are refused (`ECONNREFUSED`, as when the
//! server is down but the host is up). [`PgRelay::restore`] listens on the same port again.
//!
//! It also counts the client's request bursts: a burst starts when the client writes after
//! the server has written (or on a connection's first write), so pipelined messages sent
//! before any answer count once. Bursts are round trips, as the client waits for an answer
//! before the next burst. [`PgRelay::labels`] names each burst by the first PostgreSQL
//! message in it (a statement's text, or `sync` for a bare Sync, sqlx's ping).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct PgRelay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

struct Shared {
    upstream: SocketAddr,
    /// `true` while cut: the listener is closed and every connection is dropped.
    cut: watch::Sender<bool>,
    bursts: AtomicU64,
    accepted: AtomicU64,
    /// Each burst's label, in order.
    labels: std::sync::Mutex<Vec<String>>,
}

impl PgRelay {
    /// Listens on `127.0.0.1:0`, forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> PgRelay {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("PgRelay: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("PgRelay: local_addr");
        let (cut, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            upstream,
            cut,
            bursts: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            labels: std::sync::Mutex::new(Vec::new()),
        });
        let task = tokio::spawn(serve(listener, addr, shared.clone()));
        PgRelay { addr, shared, task }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every connection and refuses new ones until [`PgRelay::restore`].
    pub async fn cut(&self) {
        self.shared.cut.send_replace(true);
        // The listener is dropped by the accept loop; wait until the port refuses.
        for _ in 0..200 {
            if !probe(self.addr).await {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("PgRelay: {} still accepts after cut()", self.addr);
    }

    /// Accepts connections again, on the same port.
    pub async fn restore(&self) {
        self.shared.cut.send_replace(false);
        for _ in 0..200 {
            if probe(self.addr).await {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("PgRelay: {} does not accept after restore()", self.addr);
    }

    /// Client request bursts (round trips) so far, on every connection.
    pub fn bursts(&self) -> u64 {
        self.shared.bursts.load(Ordering::SeqCst)
    }

    /// The labels of bursts `from..` (see the module's doc).
    pub fn labels(&self, from: u64) -> Vec<String> {
        let l = self.shared.labels.lock().unwrap();
        l.iter().skip(from as usize).cloned().collect()
    }

    /// Connections accepted so far (the probes of `cut` and `restore` included).
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }
}

/// Whether `addr` accepts a connection within a second (a connect to a full backlog would
/// otherwise retry for minutes).
async fn probe(addr: SocketAddr) -> bool {
    let connect = TcpStream::connect(addr);
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(1), connect).await,
        Ok(Ok(_))
    )
}

impl Drop for PgRelay {
    fn drop(&mut self) {
        self.shared.cut.send_replace(true);
        self.task.abort();
    }
}

async fn serve(first: TcpListener, addr: SocketAddr, shared: Arc<Shared>) {
    let mut listener = Some(first);
    let mut cut = shared.cut.subscribe();
    loop {
        if *cut.borrow_and_update() {
            // Refuse: no listener while cut.
            listener = None;
            if cut.changed().await.is_err() {
                return;
            }
            continue;
        }
        let l = match &listener {
            Some(l) => l,
            None => {
                // Back on the same port (SO_REUSEADDR is set by tokio on Unix).
                match TcpListener::bind(addr).await {
                    Ok(l) => listener.insert(l),
                    Err(e) => panic!("PgRelay: rebind {addr}: {e}"),
                }
            }
        };
        tokio::select! {
            accepted = l.accept() => {
                let Ok((client, _)) = accepted else { continue };
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(relay(client, shared.clone()));
            }
            r = cut.changed() => {
                if r.is_err() {
                    return;
                }
            }
        }
    }
}

async fn relay(client: TcpStream, shared: Arc<Shared>) {
    let mut cut = shared.cut.subscribe();
    if *cut.borrow_and_update() {
        return;
    }
    let Ok(server) = TcpStream::connect(shared.upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    // Whether the server has written since the client's last write (a connection starts
    // as if it had: the first write is a burst).
    let server_spoke = Arc::new(AtomicBool::new(true));
    let up = {
        let server_spoke = server_spoke.clone();
        let shared = shared.clone();
        async move {
            let mut buf = vec![0u8; 64 * 1024];
            // Prepared statements' text by name, on this connection.
            let mut statements = std::collections::HashMap::new();
            let mut started = false;
            loop {
                let n = match cr.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                // (The startup message has no type byte: only what follows it is parsed.)
                let label = started.then(|| label(&buf[..n], &mut statements));
                started = true;
                if server_spoke.swap(false, Ordering::SeqCst) {
                    let mut labels = shared.labels.lock().unwrap();
                    labels.push(label.unwrap_or_else(|| "startup".into()));
                    shared.bursts.fetch_add(1, Ordering::SeqCst);
                }
                if sw.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            server_spoke.store(true, Ordering::SeqCst);
            if cw.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    // Either side closing, or a cut, drops both halves of both sockets: the client sees its
    // connection closed, as when the server goes away.
    tokio::select! {
        () = up => {}
        () = down => {}
        _ = cut.wait_for(|c| *c) => {}
    }
}

/// Names a burst by its messages: `Q` and `P` with their SQL, `B` with its statement's SQL
/// (from an earlier Parse on the connection), the rest by their type letter (`S` is Sync,
/// alone it is sqlx's ping). Records every Parse in `statements`.
fn label(mut bytes: &[u8], statements: &mut std::collections::HashMap<String, String>) -> String {
    let short = |sql: &str| {
        let mut l = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        if l.len() > 60 {
            let cut = (0..=60).rev().find(|i| l.is_char_boundary(*i)).unwrap_or(0);
            l.truncate(cut);
            l.push('…');
        }
        l
    };
    let mut parts: Vec<String> = Vec::new();
    while bytes.len() >= 5 {
        let kind = bytes[0];
        let len = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
        let end = (1 + len).min(bytes.len());
        let body = &bytes[5.min(end)..end];
        let cstr = |b: &[u8]| {
            let n = b.iter().position(|c| *c == 0).unwrap_or(b.len());
            (
                String::from_utf8_lossy(&b[..n]).into_owned(),
                (n + 1).min(b.len()),
            )
        };
        let part = match kind {
            b'Q' => format!("Q {}", short(&cstr(body).0)),
            b'P' => {
                let (name, at) = cstr(body);
                let (sql, _) = cstr(&body[at..]);
                let part = format!("P {}", short(&sql));
                statements.insert(name, sql);
                part
            }
            b'B' => {
                let (_portal, at) = cstr(body);
                let (name, _) = cstr(&body[at..]);
                match statements.get(&name) {
                    Some(sql) => format!("B {}", short(sql)),
                    None => format!("B {name}"),
                }
            }
            k if k.is_ascii_alphabetic() => (k as char).to_string(),
            _ => "?".to_string(),
        };
        parts.push(part);
        bytes = &bytes[end..];
    }
    parts.join(" | ")
}
