#!/usr/bin/env node
// Oracle for tests/machine.rs: decides requests carrying machine tokens (API keys, M2M tokens,
// OAuth access tokens), session tokens or none with @clerk/backend (the executable reference,
// pinned in package.json), talking to the Backend API stand-in the test runs on 127.0.0.1
// (`actix_clerk::testing::TestBackendApi`), and prints Clerk's outcome for each.
//
//   node tests/conformance/machine-oracle.mjs < input.json > outcomes.json
//
// Input:
//   { "configs": { "<name>": { "secretKey", "machineSecretKey"?, "publishableKey"?, "jwtKey"?,
//                              "apiUrl", "acceptsToken": null | "<kind>" | ["<kind>", ..] | "any",
//                              "authorizedParties": [..] } },
//     "cases": [ { "id", "config", "method", "url", "headers": [[name, value], ..] } ],
//     "hangMs": 3000 }
// A null acceptsToken leaves the option out (Clerk's default, session tokens only).
//
// Output: { "clerkBackendVersion": "3.25.0",
//           "outcomes": { "<id>": { "decidedAtMs", "status", "reason", "message", "tokenType",
//                                   "authJson": "<JSON.stringify(toAuth())>",
//                                   "headers": { "x-clerk-auth-*": .. },
//                                   "toAuthError"?, "error"?, "hung"? } } }
// `authJson` is JSON.stringify of the auth object (its functions drop out), kept as text so that
// the Rust side compares field order too, and can read any depth Clerk accepts; `decidedAtMs` (Date.now() when Clerk decided) is what the
// `Current date` of a message is compared with. A case Clerk has not decided after hangMs (a verify request that
// never answers: Clerk's fetch has no timeout) is { "hung": true }.
//
// Headers are built by requestHeaders (node-request.mjs), as for the other oracles.

process.env.CLERK_TELEMETRY_DISABLED = '1';
process.env.CLERK_TELEMETRY_DEBUG = '';
for (const m of ['log', 'info', 'warn', 'debug', 'trace']) {
  console[m] = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
}

import { requestHeaders } from './node-request.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXPECTED_VERSION = '3.25.0';
const installed = JSON.parse(
  fs.readFileSync(path.join(HERE, 'node_modules', '@clerk', 'backend', 'package.json'), 'utf8'),
).version;
if (installed !== EXPECTED_VERSION) {
  process.stderr.write(`machine-oracle.mjs: @clerk/backend ${installed} installed, ${EXPECTED_VERSION} expected\n`);
  process.exit(1);
}

const { createClerkClient } = await import('@clerk/backend');

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const HANG_MS = input.hangMs ?? 3000;
const CONCURRENCY = 8;

const clients = {};
for (const [name, cfg] of Object.entries(input.configs)) {
  const opts = { secretKey: cfg.secretKey, apiUrl: cfg.apiUrl };
  if (cfg.machineSecretKey) opts.machineSecretKey = cfg.machineSecretKey;
  if (cfg.publishableKey) opts.publishableKey = cfg.publishableKey;
  if (cfg.jwtKey) opts.jwtKey = cfg.jwtKey;
  clients[name] = createClerkClient(opts);
}

const HUNG = Symbol('hung');

async function decide(c) {
  const cfg = input.configs[c.config];
  let headers;
  try {
    headers = requestHeaders(c.headers);
  } catch (e) {
    return { error: `headers: ${e?.message ?? e}` };
  }
  const request = new Request(c.url, { method: c.method, headers });
  const options = { authorizedParties: cfg.authorizedParties ?? [] };
  if (cfg.acceptsToken !== null && cfg.acceptsToken !== undefined) options.acceptsToken = cfg.acceptsToken;
  let timer;
  const hang = new Promise((resolve) => {
    timer = setTimeout(() => resolve(HUNG), HANG_MS);
  });
  let rs;
  try {
    rs = await Promise.race([clients[c.config].authenticateRequest(request, options), hang]);
  } catch (e) {
    return { error: `authenticateRequest threw: ${e?.name}: ${e?.message}` };
  } finally {
    clearTimeout(timer);
  }
  if (rs === HUNG) return { hung: true };
  const o = {
    decidedAtMs: Date.now(),
    status: rs.status,
    reason: rs.reason ?? null,
    message: rs.message ?? null,
    tokenType: rs.tokenType ?? null,
    headers: {},
  };
  for (const [k, v] of rs.headers ?? []) {
    if (k.toLowerCase().startsWith('x-clerk-auth-')) o.headers[k.toLowerCase()] = v;
  }
  try {
    const auth = rs.toAuth();
    o.authJson = JSON.stringify(auth ?? null);
  } catch (e) {
    o.toAuthError = `${e?.name}: ${e?.message}`;
  }
  return o;
}

const outcomes = {};
let next = 0;
async function worker() {
  while (next < input.cases.length) {
    const c = input.cases[next++];
    outcomes[c.id] = await decide(c);
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, worker));

const counts = {};
for (const o of Object.values(outcomes)) {
  const k = o.hung ? 'hung' : o.error ? 'error' : `${o.status}:${o.reason ?? ''}`;
  counts[k] = (counts[k] ?? 0) + 1;
}
process.stderr.write(`machine-oracle: ${Object.keys(outcomes).length} cases ${JSON.stringify(counts)}\n`);
// Hung verify requests would keep the process alive: leave once the answer is written.
process.stdout.write(JSON.stringify({ clerkBackendVersion: installed, outcomes }), () => process.exit(0));
