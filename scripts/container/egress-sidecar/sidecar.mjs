/**
 * Local stand-in for `cloudflare/proxy-everything`, the networking sidecar that `wrangler dev` (workerd's
 * container client) starts next to every container: the app container joins this container's network namespace,
 * and all of its traffic goes through here. The real image is on Docker Hub, which this machine cannot reach.
 *
 * What workerd expects (workerd src/workerd/server/container-client.c++, the version bundled with wrangler 4.86):
 * - args: --http-egress-port P --http-ingress-address 0.0.0.0:39001 --docker-gateway-cidr CIDR --dns-enabled
 *   --tls-intercept [--disable-ipv6];
 * - ingress HTTP server on 39001 (published on a random host port):
 *   `PUT /egress` {port, dns: {allowHostnames}, internet: {enabled}}, `GET /ca` (a PEM CA certificate),
 *   `CONNECT 127.0.0.1:<port>` (X-Dst-Addr) → a byte tunnel to the app's port; 400 when nothing listens there;
 * - egress: the app's outbound connections become `CONNECT <ip>:<port>` to workerd's egress listener on the Docker
 *   gateway (port P), with `X-Hostname: <name>` for plain HTTP. 200: workerd serves the tunnel with the Worker's
 *   outbound handler; 202: pass bytes through (workerd itself refuses when the container has no internet).
 *
 * This implementation covers what the transcoder uses, and nothing leaves the namespace any other way:
 * - DNS (udp/53, redirected here by iptables) answers only names in `allowHostnames` (globs), each with its own
 *   loopback address 127.77.0.N; every other name is NXDOMAIN (no internet from this stand-in, by design);
 * - plain HTTP to such a name (port 80) is tunnelled to workerd with its hostname; TLS interception is not done;
 * - iptables: the namespace may talk to loopback, to workerd's egress listener and answer inbound connections;
 *   everything else is rejected.
 */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const argv = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const log = (msg, extra = {}) => console.log(JSON.stringify({ sidecar: msg, ...extra }));

const ingressAddress = arg('--http-ingress-address', '0.0.0.0:39001');
const gatewayCidr = arg('--docker-gateway-cidr', '172.17.0.0/16');
const config = { port: Number(arg('--http-egress-port', '0')), allow: [], internet: false };

/** workerd's egress listener: host.docker.internal (host-gateway), else the first address of the bridge. */
function gatewayAddress() {
  try {
    for (const line of readFileSync('/etc/hosts', 'utf8').split('\n')) {
      const [ip, ...names] = line.trim().split(/\s+/);
      if (ip && names.includes('host.docker.internal') && net.isIPv4(ip)) return ip;
    }
  } catch {}
  const [base] = gatewayCidr.split('/');
  const parts = base.split('.').map(Number);
  parts[3] += 1;
  return parts.join('.');
}
const gateway = gatewayAddress();

function iptables(args, v6 = false) {
  execFileSync(v6 ? 'ip6tables' : 'iptables', ['-w', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** No route out except loopback, workerd's egress listener, and replies to inbound connections. */
function firewall() {
  iptables(['-t', 'nat', '-A', 'OUTPUT', '-p', 'udp', '--dport', '53', '-j', 'REDIRECT', '--to-ports', '15053']);
  iptables(['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '53', '-j', 'REDIRECT', '--to-ports', '15053']);
  iptables(['-A', 'OUTPUT', '-o', 'lo', '-j', 'ACCEPT']);
  // Redirected DNS keeps the interface of its first route (eth0) in this chain: accept by destination too.
  iptables(['-A', 'OUTPUT', '-d', '127.0.0.0/8', '-j', 'ACCEPT']);
  iptables(['-A', 'OUTPUT', '-m', 'state', '--state', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
  iptables(['-A', 'OUTPUT', '-p', 'tcp', '-d', gateway, '-j', 'ACCEPT']);
  iptables(['-A', 'OUTPUT', '-j', 'REJECT']);
  try {
    iptables(['-A', 'OUTPUT', '-o', 'lo', '-j', 'ACCEPT'], true);
    iptables(['-A', 'OUTPUT', '-m', 'state', '--state', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'], true);
    iptables(['-A', 'OUTPUT', '-j', 'REJECT'], true);
  } catch {
    // No IPv6 in this namespace: nothing to close.
  }
}

// --- Names and their loopback addresses -------------------------------------------------------------------------
const addressOf = new Map(); // hostname → 127.77.0.N
const hostnameOf = new Map(); // 127.77.0.N → hostname

function globMatches(pattern, name) {
  const re = new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 'i');
  return re.test(name);
}
const allowed = (name) => config.allow.some((pattern) => globMatches(pattern, name));

function addressFor(name) {
  let ip = addressOf.get(name);
  if (ip) return ip;
  const n = addressOf.size + 1;
  ip = `127.77.${Math.floor(n / 250)}.${(n % 250) + 1}`;
  addressOf.set(name, ip);
  hostnameOf.set(ip, name);
  listenEgress(ip, 80);
  return ip;
}

// --- Egress: a connection to 127.77.x.y:80 becomes a CONNECT to workerd ------------------------------------------
function listenEgress(ip, port) {
  const server = net.createServer((client) => {
    const hostname = hostnameOf.get(ip);
    const upstream = net.connect(config.port, gateway);
    const fail = (why) => {
      log('egress failed', { hostname, why });
      client.destroy();
      upstream.destroy();
    };
    client.pause();
    upstream.once('error', (err) => fail(err.message));
    client.once('error', () => upstream.destroy());
    upstream.once('connect', () => {
      upstream.write(`CONNECT ${ip}:${port} HTTP/1.1\r\nHost: ${ip}:${port}\r\nX-Hostname: ${hostname}\r\n\r\n`);
    });
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 16384) fail('oversized CONNECT response');
        return;
      }
      upstream.off('data', onData);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1]);
      if (status !== 200 && status !== 202) return fail(`CONNECT answered ${status}`);
      const rest = head.subarray(end + 4);
      if (rest.length) client.write(rest);
      client.pipe(upstream).pipe(client);
      client.resume();
    };
    upstream.on('data', onData);
  });
  server.on('error', (err) => log('egress listener error', { ip, port, error: err.message }));
  server.listen(port, ip);
}

// --- DNS ---------------------------------------------------------------------------------------------------------
function parseName(buf, offset) {
  const labels = [];
  for (let guard = 0; guard < 128; guard++) {
    const len = buf[offset];
    if (len === undefined) throw new Error('truncated name');
    if (len === 0) return { name: labels.join('.').toLowerCase(), next: offset + 1 };
    if (len & 0xc0) throw new Error('compressed name in a question');
    labels.push(buf.subarray(offset + 1, offset + 1 + len).toString('latin1'));
    offset += 1 + len;
  }
  throw new Error('name too long');
}

function answer(query) {
  const { name, next } = parseName(query, 12);
  const qtype = query.readUInt16BE(next);
  const question = query.subarray(12, next + 4);
  const ok = allowed(name);
  const records = [];
  if (ok && qtype === 1) {
    const ip = addressFor(name).split('.').map(Number);
    records.push(Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, ...ip]));
  }
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  header[2] = 0x84 | (query[2] & 0x01); // QR, AA, RD copied
  header[3] = 0x80 | (ok ? 0 : 3); // RA; NOERROR or NXDOMAIN
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  return Buffer.concat([header, question, ...records]);
}

function serveDns() {
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    try {
      udp.send(answer(msg), rinfo.port, rinfo.address);
    } catch (err) {
      log('bad DNS query', { error: err.message });
    }
  });
  udp.bind(15053, '127.0.0.1');
  net
    .createServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          try {
            const res = answer(msg);
            const len = Buffer.alloc(2);
            len.writeUInt16BE(res.length);
            sock.write(Buffer.concat([len, res]));
          } catch {
            sock.destroy();
          }
        }
      });
      sock.on('error', () => {});
    })
    .listen(15053, '127.0.0.1');
}

// --- Ingress (workerd → the app) and control ----------------------------------------------------------------------
const ca = (() => {
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
      '-subj', '/CN=edge-video local egress sidecar', '-keyout', '/tmp/ca.key', '-out', '/tmp/ca.crt'], { stdio: 'ignore' });
    return readFileSync('/tmp/ca.crt');
  } catch {
    return Buffer.alloc(0);
  }
})();

const ingress = http.createServer((req, res) => {
  if (req.method === 'PUT' && req.url === '/egress') {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        const update = JSON.parse(body || '{}');
        if (update.port) config.port = Number(update.port);
        if (update.dns?.allowHostnames) config.allow = update.dns.allowHostnames.map(String);
        if (update.internet) config.internet = update.internet.enabled === true;
        for (const name of config.allow) if (!name.includes('*')) addressFor(name.toLowerCase());
        log('egress configured', config);
        res.writeHead(200).end('{}');
      } catch (err) {
        res.writeHead(400).end(String(err));
      }
    });
    return;
  }
  if (req.method === 'GET' && req.url === '/ca') return void res.writeHead(200, { 'Content-Type': 'application/x-pem-file' }).end(ca);
  res.writeHead(404).end();
});

ingress.on('connect', (req, clientSocket, head) => {
  const dst = String(req.headers['x-dst-addr'] ?? req.url);
  const sep = dst.lastIndexOf(':');
  const host = dst.slice(0, sep);
  const port = Number(dst.slice(sep + 1));
  if (!(host === '127.0.0.1' || host === 'localhost') || !(port > 0 && port < 65536)) {
    clientSocket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    return;
  }
  const app = net.connect(port, '127.0.0.1');
  let connected = false;
  app.once('connect', () => {
    connected = true;
    clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) app.write(head);
    app.pipe(clientSocket).pipe(app);
  });
  app.once('error', () => {
    // Not listening (yet): workerd reads 400 as "the container is not listening on this port" and retries.
    if (!connected) {
      clientSocket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    } else {
      clientSocket.destroy();
    }
  });
  clientSocket.on('error', () => app.destroy());
});

firewall();
serveDns();
const [ingressHost, ingressPort] = [ingressAddress.slice(0, ingressAddress.lastIndexOf(':')), Number(ingressAddress.slice(ingressAddress.lastIndexOf(':') + 1))];
ingress.listen(ingressPort, ingressHost, () => log('ready', { ingress: ingressAddress, gateway, egressPort: config.port }));
process.on('SIGTERM', () => process.exit(0));
