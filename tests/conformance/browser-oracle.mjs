#!/usr/bin/env node
// Oracle for tests/browser_sessions.rs: decides page navigations (and the API requests around
// them) with @clerk/backend (the executable reference, pinned in package.json), talking to the
// Backend API stand-in the test runs on 127.0.0.1 (`actix_clerk::testing::TestBackendApi`: JWKS,
// handshake payloads, session refresh), and prints Clerk's request state for each.
//
//   node tests/conformance/browser-oracle.mjs < input.json > results.json
//
// Input:
//   { "configs": { "<name>": { "publishableKey", "secretKey", "jwtKey"?, "apiUrl", "domain"?,
//                              "proxyUrl"?, "isSatellite"?, "signInUrl"?, "satelliteAutoSync"?,
//                              "authorizedParties"? } },
//     "cases": [ { "id", "config", "method", "url", "headers": [[name, value], ..] } ] }
//
// Output: { "clerkBackendVersion": "3.25.0",
//           "results": [ { "id", "decidedAtMs", "status", "reason", "message", "location",
//                          "setCookies": [..], "headers": { "<lower-cased name>": value },
//                          "auth": "<JSON.stringify(toAuth())>" | null,
//                          "authError"?, "error"? } ] }
// `headers` holds every header of the request state but Set-Cookie (which is `setCookies`, in
// order, as `headers.getSetCookie()` gives them). `auth` is kept as text so that the Rust side
// compares field order too. `error` is set (and nothing else but `id`) when authenticateRequest
// threw: Clerk's Express middleware then answers 500. `decidedAtMs` is Date.now() when Clerk
// decided (what the `Current date` of a message is compared with).
//
// Headers are built by requestHeaders (node-request.mjs), as for the other oracles. Cases run
// one at a time, in order.

process.env.CLERK_TELEMETRY_DISABLED = '1';
process.env.CLERK_TELEMETRY_DEBUG = '';
// Clerk's automatic proxy reads VERCEL_* variables: none may reach the SDK.
for (const k of Object.keys(process.env)) {
  if (k.startsWith('VERCEL')) delete process.env[k];
}
for (const m of ['log', 'info', 'warn', 'error', 'debug', 'trace']) {
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
  process.stderr.write(`browser-oracle.mjs: @clerk/backend ${installed} installed, ${EXPECTED_VERSION} expected\n`);
  process.exit(1);
}

const { createClerkClient } = await import('@clerk/backend');

const input = JSON.parse(fs.readFileSync(0, 'utf8'));

// The options of one configuration, for createClerkClient and authenticateRequest alike.
function clientOptions(cfg) {
  const o = { secretKey: cfg.secretKey, publishableKey: cfg.publishableKey, apiUrl: cfg.apiUrl };
  for (const k of ['jwtKey', 'domain', 'proxyUrl', 'isSatellite']) {
    if (cfg[k] !== undefined && cfg[k] !== null) o[k] = cfg[k];
  }
  return o;
}

function requestOptions(cfg) {
  const o = { ...clientOptions(cfg), authorizedParties: cfg.authorizedParties ?? [] };
  for (const k of ['signInUrl', 'satelliteAutoSync']) {
    if (cfg[k] !== undefined && cfg[k] !== null) o[k] = cfg[k];
  }
  return o;
}

const clients = {};
for (const [name, cfg] of Object.entries(input.configs)) {
  clients[name] = createClerkClient(clientOptions(cfg));
}

async function decide(c) {
  const cfg = input.configs[c.config];
  let request;
  try {
    request = new Request(c.url, { method: c.method, headers: requestHeaders(c.headers) });
  } catch (e) {
    return { id: c.id, error: `request: ${e?.name}: ${e?.message}` };
  }
  let rs;
  try {
    rs = await clients[c.config].authenticateRequest(request, requestOptions(cfg));
  } catch (e) {
    return { id: c.id, error: `authenticateRequest threw: ${e?.name}: ${e?.message}` };
  }
  const r = {
    id: c.id,
    decidedAtMs: Date.now(),
    status: rs.status,
    reason: rs.reason ?? null,
    message: rs.message ?? null,
    location: rs.headers?.get('location') ?? null,
    setCookies: rs.headers?.getSetCookie?.() ?? [],
    headers: {},
    auth: null,
  };
  for (const [k, v] of rs.headers ?? []) {
    const name = k.toLowerCase();
    if (name !== 'set-cookie') r.headers[name] = v;
  }
  try {
    r.auth = JSON.stringify(rs.toAuth() ?? null);
  } catch (e) {
    r.authError = `${e?.name}: ${e?.message}`;
  }
  return r;
}

const results = [];
for (const c of input.cases) {
  results.push(await decide(c));
}

const counts = {};
for (const r of results) {
  const k = r.error ? 'error' : `${r.status}:${r.reason ?? ''}${r.location ? ':307' : ''}`;
  counts[k] = (counts[k] ?? 0) + 1;
}
process.stderr.write(`browser-oracle: ${results.length} cases ${JSON.stringify(counts)}\n`);
process.stdout.write(JSON.stringify({ clerkBackendVersion: installed, results }), () => process.exit(0));
