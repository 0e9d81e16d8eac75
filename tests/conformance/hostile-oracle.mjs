#!/usr/bin/env node
// Oracle for tests/hostile.rs: decides arbitrary requests with @clerk/backend (the executable
// reference) and prints Clerk's outcome for each. Fully offline (networkless PEM verification,
// unreachable API URL).
//
//   node tests/conformance/hostile-oracle.mjs < cases.json > outcomes.json
//
// Input:  { "configs": { "<name>": { "publishableKey", "jwtKey", "authorizedParties": [..] } },
//           "cases": [ { "id", "config", "method", "url", "headers": [[name, latin1-text], ..] } ] }
// Output: { "<id>": { "status", "reason", "message", "userId", "isAuthenticated", "orgPermissions"?, "toAuthError"?, "error"? } }
//
// Header values are Latin-1 text (one char per byte), as Node's http module hands them to
// Express; duplicates are combined by requestHeaders (node-request.mjs), which joins repeated
// `authorization` lines as a Fetch runtime does. A value a Fetch `Headers` refuses (NUL, CR, LF, chars > 0xFF) gives
// { "error": "headers: ..." } for that case: such a request never reaches Clerk in Node.

process.env.CLERK_TELEMETRY_DISABLED = '1';
for (const m of ['log', 'info', 'warn', 'debug', 'trace']) {
  console[m] = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
}

import { requestHeaders } from './node-request.mjs';
import fs from 'node:fs';

const { createClerkClient } = await import('@clerk/backend');

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const SECRET_KEY = 'sk_test_hostile';
const API_URL = 'http://127.0.0.1:9';

const clients = {};
for (const [name, cfg] of Object.entries(input.configs)) {
  clients[name] = createClerkClient({
    secretKey: SECRET_KEY,
    publishableKey: cfg.publishableKey,
    jwtKey: cfg.jwtKey,
    apiUrl: API_URL,
  });
}

const out = {};
for (const c of input.cases) {
  const cfg = input.configs[c.config];
  let headers;
  try {
    headers = requestHeaders(c.headers);
  } catch (e) {
    out[c.id] = { error: `headers: ${e?.message ?? e}` };
    continue;
  }
  const request = new Request(c.url, { method: c.method, headers });
  try {
    const rs = await clients[c.config].authenticateRequest(request, {
      jwtKey: cfg.jwtKey,
      publishableKey: cfg.publishableKey,
      secretKey: SECRET_KEY,
      authorizedParties: cfg.authorizedParties,
    });
    const o = { status: rs.status, reason: rs.reason ?? null, message: rs.message ?? null };
    try {
      const auth = rs.toAuth();
      o.userId = auth?.userId ?? null;
      o.isAuthenticated = auth?.isAuthenticated ?? false;
      if (auth?.orgPermissions !== undefined) o.orgPermissions = auth.orgPermissions;
    } catch (e) {
      o.toAuthError = `${e?.name}: ${e?.message}`;
    }
    out[c.id] = o;
  } catch (e) {
    out[c.id] = { error: `authenticateRequest threw: ${e?.name}: ${e?.message}` };
  }
}
process.stdout.write(JSON.stringify(out));
