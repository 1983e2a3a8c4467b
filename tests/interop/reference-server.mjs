#!/usr/bin/env node
// Reference server for the interop suites: the official `socket.io` npm server doing exactly what
// `iorelay serve --conformance` does, plus the test-facing contract in README.md. The suites run
// against it (`run.sh reference`) to prove that a failure against iorelay is iorelay's.
//
// Usage: node reference-server.mjs serve --conformance [--host H] [--port P]
//        [--ping-interval MS] [--ping-timeout MS]
// Prints `iorelay listening on http://HOST:PORT` once listening.

import { createServer } from "node:http";
import { createRequire } from "node:module";

const require = createRequire(new URL("./node/package.json", import.meta.url));
const { Server } = require("socket.io");
const engineio = require("engine.io");

const args = process.argv.slice(2);
function flag(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}
const host = flag("--host", "127.0.0.1");
const port = Number(flag("--port", "8765"));
const pingInterval = Number(flag("--ping-interval", "300"));
const pingTimeout = Number(flag("--ping-timeout", "200"));

const httpServer = createServer();

const io = new Server(httpServer, {
  pingInterval,
  pingTimeout,
  connectTimeout: 1000,
  maxHttpBufferSize: 1e6,
  cors: { origin: "*" },
  destroyUpgrade: false,
});

// Raw Engine.IO echo at /engine.io/.
const eio = new engineio.Server({
  pingInterval,
  pingTimeout,
  maxHttpBufferSize: 1e6,
  cors: { origin: "*" },
});
eio.attach(httpServer, { path: "/engine.io/", destroyUpgrade: false });
eio.on("connection", (socket) => {
  socket.on("message", (data) => socket.send(data));
});

const ASK_ACK_TIMEOUT_MS = 1000;

function onRoot(socket) {
  socket.emit("auth", socket.handshake.auth);

  // Base conformance behaviour.
  socket.on("message", (...args) => socket.emit("message-back", ...args));
  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });

  // Test-facing contract (README.md).
  socket.on("join", (...args) => {
    const ack = typeof args.at(-1) === "function" ? args.pop() : null;
    const room = args[0];
    if (typeof room !== "string") return;
    socket.join(room);
    if (ack) ack(room);
  });
  socket.on("leave", (...args) => {
    const ack = typeof args.at(-1) === "function" ? args.pop() : null;
    const room = args[0];
    if (typeof room !== "string") return;
    socket.leave(room);
    if (ack) ack(room);
  });
  socket.on("to-room", (...args) => {
    const ack = typeof args.at(-1) === "function" ? args.pop() : null;
    const [room, event, ...rest] = args;
    if (typeof room !== "string" || typeof event !== "string") return;
    io.of("/").to(room).emit(event, ...rest);
    if (ack) ack();
  });
  socket.on("server-disconnect", () => {
    socket.disconnect(false);
  });
  socket.on("ask-ack", (...args) => {
    if (typeof args.at(-1) === "function") args.pop();
    const [event, ...rest] = args;
    if (typeof event !== "string") return;
    socket.timeout(ASK_ACK_TIMEOUT_MS).emit(event, ...rest, (err, ...answer) => {
      if (err) socket.emit("ack-result", { timeout: true });
      else socket.emit("ack-result", ...answer);
    });
  });
}

io.of("/").on("connection", onRoot);
io.of("/custom").on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);
});

httpServer.listen(port, host, () => {
  const { port: actual } = httpServer.address();
  process.stdout.write(`iorelay listening on http://${host}:${actual}\n`);
});

function shutdown() {
  io.close();
  eio.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
