/** HTTP/1.1 written by hand, for what `fetch` will not send: a bad Host, a malformed request. */
import { connect } from "node:net";

/**
 * Sends `request` as written to the server at `url` and resolves with the whole reply, once the
 * server closes the connection (so a well-formed request must carry `Connection: close`).
 */
export function sendRaw(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let reply = "";
    socket.on("data", (chunk) => {
      reply += chunk.toString();
    });
    socket.on("end", () => resolve(reply));
    socket.on("error", reject);
  });
}
