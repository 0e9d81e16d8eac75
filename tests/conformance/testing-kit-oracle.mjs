#!/usr/bin/env node
// Oracle for tests/testing_kit.rs: decides requests carrying the testing kit's tokens (session
// tokens from every SessionTokenBuilder option, in the Authorization header or the kit's
// cookies; API keys, M2M and OAuth tokens issued by the kit's Backend API stand-in) with
// @clerk/backend (the executable reference, pinned in package.json), and prints Clerk's
// outcome for each, with has() answers.
//
//   node tests/conformance/testing-kit-oracle.mjs < input.json > outcomes.json
//
// Input:
//   { "configs": { "<name>": { "secretKey", "publishableKey", "jwtKey"?, "apiUrl",
//                              "acceptsToken": null | "<kind>" | ["<kind>", ..] | "any",
//                              "authorizedParties": [..] } },
//     "cases": [ { "id", "config", "method", "url", "headers": [[name, value], ..],
//                  "has": [ <has() params>, .. ] } ] }
// A null acceptsToken leaves the option out (Clerk's default, session tokens only).
//
// Output: { "clerkBackendVersion": "3.25.0",
//           "outcomes": { "<id>": { "status", "reason", "message", "authJson", "has": [bool, ..],
//                                   "toAuthError"?, "error"? } } }
// `authJson` is JSON.stringify(toAuth()) (its functions drop out), kept as text so that the
// Rust side compares field order too. Headers are built by requestHeaders (node-request.mjs),
// as for the other oracles.

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
  process.stderr.write(`testing-kit-oracle.mjs: @clerk/backend ${installed} installed, ${EXPECTED_VERSION} expected\n`);
  process.exit(1);
}

const { createClerkClient } = await import('@clerk/backend');

const input = JSON.parse(fs.readFileSync(0, 'utf8'));

const clients = {};
for (const [name, cfg] of Object.entries(input.configs)) {
  const opts = { secretKey: cfg.secretKey, apiUrl: cfg.apiUrl, publishableKey: cfg.publishableKey };
  if (cfg.jwtKey) opts.jwtKey = cfg.jwtKey;
  clients[name] = createClerkClient(opts);
}

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
  if (cfg.jwtKey) options.jwtKey = cfg.jwtKey;
  if (cfg.acceptsToken !== null && cfg.acceptsToken !== undefined) options.acceptsToken = cfg.acceptsToken;
  let rs;
  try {
    rs = await clients[c.config].authenticateRequest(request, options);
  } catch (e) {
    return { error: `authenticateRequest threw: ${e?.name}: ${e?.message}` };
  }
  const o = {
    status: rs.status,
    reason: rs.reason ?? null,
    message: rs.message ?? null,
    has: [],
  };
  try {
    const auth = rs.toAuth();
    o.authJson = JSON.stringify(auth ?? null);
    o.has = (c.has ?? []).map((params) => {
      try {
        return typeof auth?.has === 'function' ? auth.has(params) === true : false;
      } catch {
        return false;
      }
    });
  } catch (e) {
    o.toAuthError = `${e?.name}: ${e?.message}`;
  }
  return o;
}

const outcomes = {};
for (const c of input.cases) {
  outcomes[c.id] = await decide(c);
}

const counts = {};
for (const o of Object.values(outcomes)) {
  const k = o.error ? 'error' : `${o.status}:${o.reason ?? ''}`;
  counts[k] = (counts[k] ?? 0) + 1;
}
process.stderr.write(`testing-kit-oracle: ${Object.keys(outcomes).length} cases ${JSON.stringify(counts)}\n`);
process.stdout.write(JSON.stringify({ clerkBackendVersion: installed, outcomes }), () => process.exit(0));
