// The one module that loads uWebSockets.js (the @trufflesuite build of v20.30, CommonJS with a
// native addon). Everything else in the processor imports uWS through here, so a future swap of
// the package (or of its version) touches one file.
import { createRequire } from 'node:module';
import type * as UwsTypes from '@trufflesuite/uws-js-unofficial';

const require = createRequire(import.meta.url);
const uws = require('@trufflesuite/uws-js-unofficial') as typeof UwsTypes;

export type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  WebSocket,
  WebSocketBehavior,
  us_listen_socket,
  us_socket_context_t,
} from '@trufflesuite/uws-js-unofficial';

export const App = uws.App;
/** The same app over TLS (certificate and key read by uSockets from the files it is given). */
export const SSLApp = uws.SSLApp;
export const DISABLED = uws.DISABLED;
export const usListenSocketClose = uws.us_listen_socket_close;
export const usSocketLocalPort = uws.us_socket_local_port;
