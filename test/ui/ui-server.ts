// Serves a built UI folder with registerUiRoutes and passes the API (HTTP and the websocket) through to a
// running daemon, so the browser sees one origin, as it will when the daemon serves the UI itself.
// The pass-through can be cut to test what the UI does when the connection drops.
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import Fastify from 'fastify';
import { isApiPath, registerUiRoutes } from '../../server/api/static-ui.ts';

export interface UiServer {
  url: string;
  /** Drops every proxied websocket and refuses new ones until `online()`. */
  offline(): void;
  online(): void;
  close(): Promise<void>;
}

export async function startUiServer(options: { dir: string; apiPort: number }): Promise<UiServer> {
  const { dir, apiPort } = options;
  const sockets = new Set<Socket>();
  let refusing = false;

  const proxy = (req: IncomingMessage, res: ServerResponse) => {
    const upstream = request(
      { host: '127.0.0.1', port: apiPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 502, message: error.message } }));
    });
    req.pipe(upstream);
  };

  const app = Fastify({
    serverFactory: (handler) =>
      createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        if (isApiPath(path)) proxy(req, res);
        else handler(req, res);
      }),
  });
  registerUiRoutes(app, dir);

  app.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (refusing) {
      socket.destroy();
      return;
    }
    const upstream = connect(apiPort, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    sockets.add(socket);
    sockets.add(upstream);
    const forget = () => {
      sockets.delete(socket);
      sockets.delete(upstream);
      socket.destroy();
      upstream.destroy();
    };
    socket.on('close', forget);
    upstream.on('close', forget);
    socket.on('error', forget);
    upstream.on('error', forget);
  });

  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    offline() {
      refusing = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    online() {
      refusing = false;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
