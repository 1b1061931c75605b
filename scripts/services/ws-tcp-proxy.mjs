// A WebSocket-to-TCP relay with the interface of Neon's wsproxy, used only when that Go
// program cannot be installed (the Go module proxy may refuse it). It reads the same
// environment: LISTEN_PORT (host:port), ALLOW_ADDR_REGEX; it serves `/v1?address=host:port`,
// relays binary frames both ways, and closes the WebSocket when the TCP side ends.
import { createServer } from "node:http";
import { connect } from "node:net";
import { WebSocketServer } from "ws";

const listen = process.env.LISTEN_PORT ?? "127.0.0.1:6543";
const allowed = new RegExp(process.env.ALLOW_ADDR_REGEX ?? "^127\\.0\\.0\\.1:[0-9]+$");
const separator = listen.lastIndexOf(":");
const host = separator > 0 ? listen.slice(0, separator) : "127.0.0.1";
const port = Number(listen.slice(separator + 1));

const server = createServer((request, response) => {
  response.writeHead(request.url === "/healthz" ? 200 : 404).end();
});
const sockets = new WebSocketServer({ noServer: true });

server.on("upgrade", (request, socket, head) => {
  const url = new URL(request.url ?? "/", "http://relay");
  const address = url.searchParams.get("address") ?? "";
  if (url.pathname !== "/v1" || !allowed.test(address)) {
    socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    return;
  }
  sockets.handleUpgrade(request, socket, head, (webSocket) => {
    const split = address.lastIndexOf(":");
    const tcp = connect({ host: address.slice(0, split), port: Number(address.slice(split + 1)) });
    tcp.setNoDelay(true);
    const pending = [];
    let connected = false;
    tcp.on("connect", () => {
      connected = true;
      for (const chunk of pending.splice(0)) tcp.write(chunk);
    });
    tcp.on("data", (chunk) => webSocket.send(chunk, { binary: true }));
    tcp.on("close", () => webSocket.close(1000, "TCP connection is closed"));
    tcp.on("error", () => webSocket.terminate());
    webSocket.on("message", (data) => {
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (connected) tcp.write(chunk);
      else pending.push(chunk);
    });
    webSocket.on("close", () => tcp.destroy());
    webSocket.on("error", () => tcp.destroy());
  });
});

server.listen(port, host, () => console.log(`ws-tcp-proxy listening on ${host}:${port}`));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
