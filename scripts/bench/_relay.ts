/**
 * A TCP relay in front of a server that counts round trips for real, for the suites of
 * `npm run bench` whose drivers give no trustworthy count of their own.
 */
import { createServer, connect, type AddressInfo, type Socket } from "node:net";

/** A TCP relay that counts round trips: each client send that follows a server reply. */
export async function countingRelay(host: string, port: number): Promise<{ port: number; roundTrips: () => number; close: () => void }> {
  let roundTrips = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect({ host, port });
    let lastFromServer = true;
    sockets.add(client).add(upstream);
    client.on("data", (chunk) => {
      if (lastFromServer) roundTrips++;
      lastFromServer = false;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      lastFromServer = true;
      client.write(chunk);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    roundTrips: () => roundTrips,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}
