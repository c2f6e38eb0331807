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

/** An upstream that answers every request with the same bytes, written by hand. */
export interface RawUpstream {
  url: string;
  /** How many requests it has answered. */
  readonly answered: number;
  stop(): void;
}

/**
 * Starts an upstream on a free port that answers each request, once its head has arrived, with
 * `reply` as written and then closes the connection: for answers no HTTP server would send
 * (a status of `999`, an unrequested `101`).
 */
export function startRawUpstream(reply: string): RawUpstream {
  let answered = 0;
  const server = Bun.listen<{ head: string }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { head: "" };
      },
      data(socket, chunk) {
        socket.data.head += chunk.toString();
        if (!socket.data.head.includes("\r\n\r\n")) return;
        answered += 1;
        socket.end(reply);
      },
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    get answered() {
      return answered;
    },
    stop: () => server.stop(true),
  };
}
