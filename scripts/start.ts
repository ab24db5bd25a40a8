/**
 * `npm start`: the main job on the embedded defaults, in one process.
 *
 * Builds the demo site and the MNIST compute packages when they are missing, starts the fedweb server
 * (SQLite + blob folder in `./.fedweb`, port 8080 or $PORT, listening on 0.0.0.0 so phones on the LAN can
 * join), uploads the CNN package, registers the simulation shard routes (SIMULATION MODE: every tab gets a
 * slice of MNIST from the server), starts a session that waits for clients, prints the URLs and keeps running.
 * A session left running by an earlier `npm start` on the same data dir is resumed instead.
 *
 * Options (flags or environment):
 *   --port N          / PORT               (default 8080)
 *   --host ADDR       / HOST               (default 0.0.0.0)
 *   --data-dir DIR    / FEDWEB_DATA_DIR    (default ./.fedweb)
 *   --model cnn|mlp   / FEDWEB_MODEL       (default cnn)
 *   --dataset mnist|fashion / FEDWEB_DATASET  the simulated task: MNIST digits or Fashion-MNIST clothing (default mnist)
 *   --rounds N                             (default 20)
 *   --clients-required N                   (default 2: a round starts once two tabs are online)
 *   --split S                              iid | dirichlet:<alpha> | labels:<k> (default iid)
 *   --shards N                             simulated data owners the training digits are split into (default: --clients-required,
 *                                          so the tabs a round waits for hold all the training examples between them)
 *   --secret S        / FEDWEB_SECRET      JWT secret (default: auth off, dev mode, with a warning)
 *   --https-port N    / HTTPS_PORT         TLS front for phones on the LAN (default 8443; self-signed, made by openssl)
 *   --no-https                             no TLS front
 */
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer, type FedServer } from '../packages/server/src/index.js';
import { parseDataset, simRoutes } from '../packages/server/src/sim/index.js';
import { ensureDemoBuilt, ensurePackagesBuilt, ROOT } from '../e2e/lib/prepare.js';
import { ensureSelfSignedCert, startHttpsFront } from './lan-https.js';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'data-dir': { type: 'string' },
    model: { type: 'string' },
    dataset: { type: 'string' },
    rounds: { type: 'string' },
    'clients-required': { type: 'string' },
    split: { type: 'string' },
    shards: { type: 'string' },
    secret: { type: 'string' },
    'https-port': { type: 'string' },
    'no-https': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: npm start -- [--port 8080] [--host 0.0.0.0] [--data-dir ./.fedweb] [--model cnn|mlp] [--dataset mnist|fashion] [--rounds 20] [--clients-required 2] [--split iid] [--shards N (default: --clients-required)] [--secret S] [--https-port 8443] [--no-https]');
  process.exit(0);
}

const port = Number(values.port ?? process.env['PORT'] ?? 8080);
const host = values.host ?? process.env['HOST'] ?? '0.0.0.0';
const dataDir = resolve(values['data-dir'] ?? process.env['FEDWEB_DATA_DIR'] ?? './.fedweb');
const model = (values.model ?? process.env['FEDWEB_MODEL'] ?? 'cnn') as 'cnn' | 'mlp';
const dataset = parseDataset(values.dataset ?? process.env['FEDWEB_DATASET'] ?? 'mnist');
const rounds = Number(values.rounds ?? 20);
const clientsRequired = Number(values['clients-required'] ?? 2);
const split = values.split ?? 'iid';
// Shards as large as the required tabs allow: with 10 shards of 800 digits, two tabs overfit their 1,600 digits
// (the global model's accuracy was flat from round 6 on, validation loss rising). Measured with
// `npm run simulate -- --tabs 0 --node-clients 2 --rounds 20 --model mlp --split iid` (demo/README.md, "A demo
// that keeps learning"): with 2 shards of 4,000 the test loss falls in every round to the 20th (0.250 at round 15,
// 0.238 at 20) and accuracy ends at 92.6% (centralized 93.1%); with 2 of 800 accuracy is flat at 87-88% from round 8.
const shards = Number(values.shards ?? clientsRequired);
/**
 * The centralized reference (the same model trained in one place on the training digits), drawn on the demo's
 * chart when the shards cover that data: CNN from bench/results/simulate.json (40 epochs of momentum SGD 0.03,
 * batch 64, centrally, in the browser, on the 7,000 training digits), MLP measured with the harness's Node baseline
 * (20 epochs of SGD 0.1, batch 32) on the 8,000-digit pool of before the validation split. Both on MNIST's 2,000
 * test digits; none is known for Fashion-MNIST's demo settings, so its chart has no reference line.
 */
const REFERENCE: Record<'cnn' | 'mlp', { accuracy: number; note: string }> = {
  cnn: { accuracy: 0.973, note: 'the CNN trained centrally on the same 7,000 digits (simulate harness, 40 epochs)' },
  mlp: { accuracy: 0.931, note: 'the MLP trained centrally on 8,000 digits (the pool of before the validation split; simulate harness, 20 epochs)' },
};
const secret = values.secret ?? process.env['FEDWEB_SECRET'];
const httpsPort = Number(values['https-port'] ?? process.env['HTTPS_PORT'] ?? 8443);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port/PORT must be a port number, got ${port}`);
if (model !== 'cnn' && model !== 'mlp') throw new Error(`--model must be cnn or mlp, got ${model}`);

const say = (line: string) => console.log(`[fedweb] ${line}`);

const staticDir = await ensureDemoBuilt({ log: say });
const packageDir = await ensurePackagesBuilt(model, { log: say });

let server: FedServer;
try {
  server = await startServer({
    dataDir,
    port,
    host,
    // The LAN demo: without --secret it listens on 0.0.0.0 with auth off on purpose (phones join over the LAN), and
    // the server says loudly that anyone there can push code to the clients. Pass --secret, or --host 127.0.0.1.
    ...(secret ? { secret } : { insecure: true }),
    staticDir,
    computePackage: { dir: packageDir },
    plugins: [simRoutes({ dataset, split, seed: 42, clients: shards, ...(dataset === 'mnist' ? { reference: REFERENCE[model] } : {}) })],
    logLevel: 'warn',
  });
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'EADDRINUSE') {
    console.error(`[fedweb] port ${port} is in use: stop the other server or run PORT=8081 npm start`);
    process.exit(1);
  }
  throw e;
}

// Resume a running session (the server already did, from its last committed model) or start one.
const sessions = await server.controller.listSessions();
const running = sessions.find((s) => s.status === 'running' || s.status === 'paused');
if (running) {
  say(`resuming session ${running.id} (${running.completedRounds}/${running.config.rounds} rounds done)`);
} else {
  const session = await server.controller.startSession({
    name: `demo: ${dataset === 'fashion' ? 'Fashion-MNIST' : 'MNIST'} ${model.toUpperCase()}, ${split}`,
    rounds,
    clientsRequired,
    localEpochs: 1,
    batchSize: 32,
    // Measured on the CNN with 10 tabs (test accuracy after rounds 1-3): momentum 0.9 at 0.02 gives 0.55 / 0.84 /
    // 0.89 where SGD at 0.1 gives 0.50 / 0.83 / 0.88, at the same cost per round. The MLP keeps plain SGD.
    ...(model === 'cnn' ? { learningRate: 0.02, extra: { optimizer: 'momentum' } } : { learningRate: 0.1 }),
    encoding: 'int8',
    validate: true,
    roundTimeoutMs: 180_000,
    validateTimeoutMs: 60_000,
  });
  say(`started session ${session.id}: ${rounds} rounds, each waits for ${clientsRequired} client(s)`);
}

const lanIps = Object.values(networkInterfaces())
  .flat()
  .filter((a) => a && a.family === 'IPv4' && !a.internal)
  .map((a) => a!.address);
const urls = host === '0.0.0.0' || host === '::' ? [`http://localhost:${server.port}/`, ...lanIps.map((ip) => `http://${ip}:${server.port}/`)] : [`${server.url}/`];

// Phones on the LAN need a secure context (WebCrypto): a TLS front with a self-signed certificate.
let front: import('node:https').Server | undefined;
const httpsUrls: string[] = [];
if (!values['no-https'] && host !== '127.0.0.1' && host !== 'localhost') {
  const tls = ensureSelfSignedCert(resolve(dataDir, 'tls'), lanIps);
  if (!tls) say('no openssl: no https front; phones on the LAN cannot join over plain http (browsers disable WebCrypto there)');
  else {
    try {
      front = await startHttpsFront({ port: httpsPort, host, targetPort: server.port, tls });
      const p = (front.address() as { port: number }).port;
      httpsUrls.push(...lanIps.map((ip) => `https://${ip}:${p}/`));
    } catch (e) {
      say(`no https front on port ${httpsPort}: ${(e as Error).message}`);
    }
  }
}
say(`SIMULATION MODE: each tab gets a shard of MNIST from the server (split ${split}, ${shards} shards)`);
say(`demo ready. Open in two or more tabs:`);
for (const u of urls.slice(0, 1)) console.log(`         ${u}`);
if (httpsUrls.length) {
  say('phones and other computers on this network (self-signed certificate: accept the warning once):');
  for (const u of httpsUrls) console.log(`         ${u}`);
} else if (urls.length > 1) {
  say('other computers on this network (plain http works only from localhost; use the https front for phones):');
  for (const u of urls.slice(1)) console.log(`         ${u}`);
}
say(`dashboard: ${urls[0]}dashboard   data: ${dataDir}   root: ${ROOT}`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping (a running session resumes at the next npm start)`);
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  front?.closeAllConnections();
  front?.close();
  await server.close().catch(() => undefined);
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
