// The transport's limit: a bare uWebSockets.js server that sends every frame straight back, in
// the same encoding. Same uWS build as the processor (imported only through src/processor/uws.ts).
import { App, usListenSocketClose, usSocketLocalPort, type us_listen_socket } from '../../src/processor/uws.js';

export interface EchoServer {
  url: string;
  port: number;
  close(): void;
}

export function startEchoServer(host = '127.0.0.1', port = 0): Promise<EchoServer> {
  const app = App();
  app.ws('/*', {
    /* Options */
    maxPayloadLength: 16 * 1024,
    idleTimeout: 120,
    maxBackpressure: 256 * 1024,
    closeOnBackpressureLimit: 1,
    /* Handlers */
    message: (ws, message, isBinary) => {
      ws.send(message, isBinary); // 1 sent, 0 buffered, 2 dropped: an echo has nothing to refill
    },
  });
  return new Promise((resolve, reject) => {
    app.listen(host, port, (listen: us_listen_socket | false) => {
      if (!listen) return reject(new Error(`echo server could not listen on ${host}:${port}`));
      const p = usSocketLocalPort(listen);
      resolve({ url: `ws://${host}:${p}/echo`, port: p, close: () => usListenSocketClose(listen) });
    });
  });
}
