// An HTTP proxy that can refuse websocket upgrades while passing plain requests: what a page
// behind a proxy without websocket support sees, so the client must fall back to long-polling.

import http from "node:http";
import net from "node:net";

/**
 * Starts a proxy on 127.0.0.1 port 0 forwarding to the relay on `port`, closed after test `t`.
 * `allowUpgrades` (false at first) lets websockets through; `upgrades` counts those let through.
 */
export async function startUpgradeProxy(t, port) {
  const sockets = new Set();
  const track = (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  };
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    const options = { host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers, agent: false };
    const upstream = http.request(options, (reply) => {
      res.writeHead(reply.statusCode, reply.headers);
      reply.pipe(res);
    });
    upstream.on("socket", track);
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("connection", track);
  server.on("upgrade", (req, socket, head) => {
    if (!proxy.allowUpgrades) return socket.destroy();
    proxy.upgrades++;
    const upstream = net.connect(port, "127.0.0.1", () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`)];
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    track(upstream);
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const proxy = {
    url: `http://127.0.0.1:${server.address().port}`,
    allowUpgrades: false,
    upgrades: 0,
  };
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return proxy;
}
