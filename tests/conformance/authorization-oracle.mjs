#!/usr/bin/env node
// Oracle for tests/authorization.rs: answers Clerk's has() and builds Clerk's reverification
// 403 body with @clerk/backend (whose signed-in auth object uses @clerk/shared's
// createCheckAuthorization, and which re-exports @clerk/shared's reverificationError).
//
//   node tests/conformance/authorization-oracle.mjs < matrix.json > answers.json
//
// Input:  { "cases": [ { "id", "claims": {…}, "checks": [ <has() params>, … ] } ] }
// Output: { "<id>": [ { "has": bool, "hasWithoutReverification": bool | null,
//                       "reverificationBody": string | null }, … ] }
// `hasWithoutReverification` is has() of the same params less `reverification` (null when the
// params have none or nothing else); `reverificationBody` is
// JSON.stringify(reverificationError(params.reverification)) when the params ask for one.

process.env.CLERK_TELEMETRY_DISABLED = '1';
for (const m of ['log', 'info', 'warn', 'debug', 'trace']) {
  console[m] = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
}

import fs from 'node:fs';

const { signedInAuthObject, reverificationError } = await import('@clerk/backend/internal');

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const context = { secretKey: 'sk_test_authorization', apiUrl: 'http://127.0.0.1:9' };
const out = {};
for (const c of input.cases) {
  const auth = signedInAuthObject(context, 'token', c.claims);
  out[c.id] = c.checks.map((params) => {
    const { reverification, ...rest } = params;
    const hasRest = reverification !== undefined && Object.keys(rest).length > 0;
    return {
      has: auth.has(params),
      hasWithoutReverification: hasRest ? auth.has(rest) : null,
      reverificationBody:
        reverification !== undefined ? JSON.stringify(reverificationError(reverification)) : null,
    };
  });
}
process.stdout.write(JSON.stringify(out));
