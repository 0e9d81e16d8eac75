#!/usr/bin/env node
// Oracle for tests/webhooks.rs: decides webhook deliveries with `verifyWebhook` of
// @clerk/backend/webhooks (3.25.0, which verifies with the `standardwebhooks` package), and signs
// with `standardwebhooks`' Webhook.sign so the test's own signer can be checked against it.
//
//   node tests/conformance/webhook-oracle.mjs < cases.json > outcomes.json
//
// Input:
//   { "now": <seconds>,                       // Date.now() is pinned to now*1000 + 500
//     "cases": [ { "id", "secret",             // the receiver's signingSecret
//                  "headers": [[name, base64 of the value's bytes], …],   // in order, repeats kept
//                  "body": base64 } ],
//     "signings": [ { "secret", "id", "timestamp", "body" } ],   // strings; Webhook.sign of each
//     "secrets": [ string ] }                   // whether `new Webhook(secret)` accepts each
// Output:
//   { "versions": { "@clerk/backend", "standardwebhooks" },
//     "cases": { "<id>": { "clerk": <outcome>, "renamed": <outcome> | null } },
//     "signatures": [ "v1,…" ], "secrets": [ bool ] }
// <outcome> is { "ok": true, "event": JSON.stringify(event) } or { "ok": false, "error": message }.
//
// Header values become latin-1 strings, as Node gives a server's request headers to Clerk.
// `renamed` is what verifyWebhook decides when the delivery's webhook-* headers are renamed
// svix-*: only for deliveries where no svix-* header has a value and some webhook-* header has
// one (actix-clerk reads webhook-* then; Clerk reads svix-* only).

process.env.CLERK_TELEMETRY_DISABLED = '1';
for (const m of ['log', 'info', 'warn', 'debug', 'trace']) {
  console[m] = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
}

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXPECTED = { '@clerk/backend': '3.25.0', standardwebhooks: '1.1.1' };
const versions = {};
for (const [name, expected] of Object.entries(EXPECTED)) {
  const file = path.join(HERE, 'node_modules', ...name.split('/'), 'package.json');
  let version;
  try {
    version = JSON.parse(fs.readFileSync(file, 'utf8')).version;
  } catch {
    version = null;
  }
  if (version !== expected) {
    process.stderr.write(`webhook-oracle.mjs: ${name} ${version} installed, ${expected} expected; run "npm ci" in ${HERE}\n`);
    process.exit(1);
  }
  versions[name] = version;
}

const { verifyWebhook } = await import('@clerk/backend/webhooks');
const { Webhook } = await import('standardwebhooks');

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
Date.now = () => input.now * 1000 + 500;

const SVIX = ['svix-id', 'svix-timestamp', 'svix-signature'];
const STANDARD = ['webhook-id', 'webhook-timestamp', 'webhook-signature'];

function request(headers, body) {
  return new Request('http://localhost:3000/webhooks', { method: 'POST', headers, body });
}

async function decide(headers, body, secret) {
  try {
    const event = await verifyWebhook(request(headers, body), { signingSecret: secret });
    return { ok: true, event: JSON.stringify(event) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

const out = { versions, cases: {}, signatures: [], secrets: [] };
for (const c of input.cases) {
  const headers = c.headers.map(([name, value]) => [name, Buffer.from(value, 'base64').toString('latin1')]);
  const body = Buffer.from(c.body, 'base64');
  const probe = new Headers(headers);
  const has = (name) => Boolean(probe.get(name)?.trim());
  const clerk = await decide(headers, body, c.secret);
  let renamed = null;
  if (!SVIX.some(has) && STANDARD.some(has)) {
    const lower = (n) => n.toLowerCase();
    const moved = headers
      .filter(([name]) => !SVIX.includes(lower(name)))
      .map(([name, value]) => {
        const i = STANDARD.indexOf(lower(name));
        return [i >= 0 ? SVIX[i] : name, value];
      });
    renamed = await decide(moved, body, c.secret);
  }
  out.cases[c.id] = { clerk, renamed };
}
for (const s of input.signings ?? []) {
  out.signatures.push(new Webhook(s.secret).sign(s.id, new Date(s.timestamp * 1000), s.body));
}
for (const secret of input.secrets ?? []) {
  let ok;
  try {
    new Webhook(secret);
    ok = true;
  } catch {
    ok = false;
  }
  out.secrets.push(ok);
}
process.stdout.write(JSON.stringify(out));
