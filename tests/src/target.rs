//! What a scenario can do to a server: HTTP requests (each on its own connection, awaited
//! separately so a held poll can be outstanding), websockets, and the passage of time.

use std::time::Duration;

/// A request in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HttpId(pub u64);

/// An open websocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WsId(pub u64);

/// A keep-alive HTTP connection that carries one request after another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeepAliveId(pub u64);

/// An HTTP response as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpReply {
    /// The body as text (lossy).
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// If the body is not JSON.
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// A header by lowercase name.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A websocket message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// Text message.
    Text(String),
    /// Binary message.
    Binary(Vec<u8>),
}

/// What a websocket delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEvent {
    /// A message.
    Msg(Msg),
    /// The server closed the websocket (close code if one was sent).
    Closed(Option<u16>),
}

/// A server under test.
pub trait Target {
    /// Which target this is, for failure messages.
    fn label(&self) -> &'static str;
    /// Starts an HTTP request (`target` is path and query) on a new connection.
    fn send_http(&mut self, method: &str, target: &str, body: &[u8]) -> HttpId;
    /// Waits up to `within` for the reply to `id`.
    fn wait_http(&mut self, id: HttpId, within: Duration) -> Option<HttpReply>;
    /// Drops the connection of a request in flight (an aborted poll).
    fn abort_http(&mut self, id: HttpId);
    /// Opens a websocket to `target`; a refused upgrade yields the HTTP reply.
    ///
    /// # Errors
    /// The server answered the upgrade request with an HTTP error.
    fn open_ws(&mut self, target: &str) -> Result<WsId, HttpReply>;
    /// Sends a websocket message.
    fn ws_send(&mut self, ws: WsId, msg: Msg);
    /// Waits up to `within` for the next websocket event.
    fn ws_recv(&mut self, ws: WsId, within: Duration) -> Option<WsEvent>;
    /// Lets `duration` pass (virtual time in the simulator, real time over the network).
    fn pass(&mut self, duration: Duration);
    /// Opens a connection that stays open for several requests.
    fn open_keep_alive(&mut self) -> KeepAliveId;
    /// Sends a request on keep-alive connection `conn` and waits up to `within` for its reply.
    fn keep_alive_request(
        &mut self,
        conn: KeepAliveId,
        method: &str,
        target: &str,
        body: &[u8],
        within: Duration,
    ) -> Option<HttpReply>;
}

/// Convenience calls every scenario uses.
pub trait TargetExt: Target {
    /// A request and its reply, which must come within `within`.
    fn http(&mut self, method: &str, target: &str, body: &[u8], within: Duration) -> HttpReply {
        let id = self.send_http(method, target, body);
        let label = self.label();
        self.wait_http(id, within)
            .unwrap_or_else(|| panic!("[{label}] no reply to {method} {target} within {within:?}"))
    }

    /// The next websocket text message, skipping Engine.IO pings (answered with pongs).
    fn ws_text(&mut self, ws: WsId, within: Duration) -> String {
        let label = self.label();
        loop {
            match self.ws_recv(ws, within) {
                Some(WsEvent::Msg(Msg::Text(t))) if t == "2" => {
                    self.ws_send(ws, Msg::Text("3".into()))
                }
                Some(WsEvent::Msg(Msg::Text(t))) => return t,
                other => panic!("[{label}] expected a text message, got {other:?}"),
            }
        }
    }
}

impl<T: Target + ?Sized> TargetExt for T {}
