// The cluster tests' third node: a Node.js Socket.IO 4.8 server with the official
// `@socket.io/redis-streams-adapter` on the stream the iorelay nodes use.
//
//   REDIS_URL=redis://127.0.0.1:PORT node server.mjs
//
// Listens on 127.0.0.1, a free port, and prints `node listening on http://127.0.0.1:PORT`.
// `POST /emit` with a JSON object body does `io.emit("claude_event", body)` (a broadcast through
// the adapter, which the iorelay nodes read from the stream) and answers 204. Connection state
// recovery is on (sessions in Redis, as the adapter keeps them).

import http from "node:http";
import { createClient } from "redis";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-streams-adapter";

const url = process.env.REDIS_URL;
if (!url) throw new Error("REDIS_URL is not set");

const redisClient = createClient({ url });
// Without a listener an unreachable Redis would end the process; the tests stop Redis on purpose.
redisClient.on("error", () => {});
await redisClient.connect();

const httpServer = http.createServer((req, res) => {
  if (req.method === "POST" && req.url === "/emit") {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      try {
        io.emit("claude_event", JSON.parse(body));
        res.writeHead(204).end();
      } catch (err) {
        res.writeHead(400).end(String(err));
      }
    });
    return;
  }
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    return;
  }
  if (!req.url.startsWith("/socket.io/")) res.writeHead(404).end();
});

// Recovery on, with iorelay's default window: sessions go to Redis, so a client dropped here
// can recover on an iorelay node and the other way round.
const io = new Server(httpServer, {
  adapter: createAdapter(redisClient),
  connectionStateRecovery: { maxDisconnectionDuration: 120_000 },
});

httpServer.listen(0, "127.0.0.1", () => {
  console.log(`node listening on http://127.0.0.1:${httpServer.address().port}`);
});

const stop = () => {
  io.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
