// Reference server for validating the conformance checks: the official
// Node.js `engine.io` server at /engine.io/ and the official `socket.io`
// server at /socket.io/, on one HTTP server, in the configuration the public
// protocol test suites expect. GET /health answers 200 with JSON.
//
//   PORT=3000 node reference-server.mjs

import { createServer } from "node:http";
import { Server as EngineServer } from "engine.io";
import { Server as SocketServer } from "socket.io";

const port = Number(process.env.PORT ?? 3000);

const heartbeat = { pingInterval: 300, pingTimeout: 200 };

const http = createServer();

// socket.io attaches first; it only takes requests under /socket.io/.
const io = new SocketServer(http, {
  path: "/socket.io/",
  ...heartbeat,
  maxHttpBufferSize: 1e6,
  connectTimeout: 1000,
  cors: { origin: "*" },
});

io.on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);
  socket.on("message", (...args) => {
    socket.emit("message-back", ...args);
  });
  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    // Guard so that a malformed probe (no ack id) cannot crash the process.
    if (typeof ack === "function") ack(...args);
  });
});

io.of("/custom").on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);
});

// Plain engine.io echo server under /engine.io/.
const engine = new EngineServer({
  ...heartbeat,
  maxHttpBufferSize: 1e6,
  cors: { origin: "*" },
});
engine.attach(http, { path: "/engine.io/" });

engine.on("connection", (socket) => {
  socket.on("message", (data) => {
    socket.send(data);
  });
});

// /health is answered by a listener added after the two attach() calls, so
// it only sees the requests the two servers did not take.
http.on("request", (req, res) => {
  if (req.url === "/health" || req.url.startsWith("/health?")) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok", server: "reference", engineio: "/engine.io/", socketio: "/socket.io/" }));
  } else if (!req.url.startsWith("/engine.io/") && !req.url.startsWith("/socket.io/")) {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "not found" }));
  }
});

http.listen(port, () => {
  console.log(`reference server listening on http://localhost:${port} (/engine.io/, /socket.io/, /health)`);
});

function shutdown() {
  io.close();
  engine.close();
  http.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
