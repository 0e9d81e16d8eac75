#!/usr/bin/env node
// Differential conformance generator for actix-clerk.
//
// Runs a fixed list of requests through @clerk/backend (the executable reference, pinned in
// package.json) and prints ONE JSON document on stdout describing every case and the outcome
// Clerk gives for it. Everything else (diagnostics, Clerk's own console output, the summary)
// goes to stderr. Fully offline: verification is networkless (jwtKey = PEM), and no case needs
// a Backend API call.
//
//   node tests/conformance/generate.mjs > cases.json
//
// See README.md in this folder for the JSON format.

process.env.CLERK_TELEMETRY_DISABLED = '1';
process.env.CLERK_TELEMETRY_DEBUG = '';

// Keep stdout clean: anything Clerk (or we) log goes to stderr.
for (const m of ['log', 'info', 'warn', 'debug', 'trace']) {
  console[m] = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
}

import { requestHeaders } from './node-request.mjs';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXPECTED_VERSION = '3.25.0';

function die(msg) {
  process.stderr.write(`generate.mjs: ${msg}\n`);
  process.exit(1);
}

let installedVersion;
try {
  installedVersion = JSON.parse(
    fs.readFileSync(path.join(HERE, 'node_modules', '@clerk', 'backend', 'package.json'), 'utf8'),
  ).version;
} catch {
  die(`@clerk/backend is not installed; run "npm ci" in ${HERE}`);
}
if (installedVersion !== EXPECTED_VERSION) {
  die(`@clerk/backend ${installedVersion} installed, ${EXPECTED_VERSION} expected; run "npm ci" in ${HERE}`);
}

// Bare specifiers resolve relative to this file, so the cwd does not matter.
const { createClerkClient } = await import('@clerk/backend');
const { getCookieSuffix } = await import('@clerk/shared/keys');

// ---------------------------------------------------------------------------------------------
// Keys and configurations
// ---------------------------------------------------------------------------------------------
const RIGHT = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const WRONG = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = RIGHT.publicKey.export({ type: 'spki', format: 'pem' });
const SECRET_KEY = 'sk_test_conformance';
const API_URL = 'http://127.0.0.1:9';

// Publishable keys are written the way Clerk writes them: base64 without '=' padding.
const b64NoPad = (s) => Buffer.from(s).toString('base64').replace(/=+$/, '');
const PROD_FAPI = 'clerk.example.com';
const DEV_FAPI = 'fine-ant-12.clerk.accounts.dev';
const PK_PROD = `pk_live_${b64NoPad(`${PROD_FAPI}$`)}`;
const PK_DEV = `pk_test_${b64NoPad(`${DEV_FAPI}$`)}`;
const PK_DEV_PADDED = `pk_test_${Buffer.from(`${DEV_FAPI}$`).toString('base64')}`;
const ISS_PROD = `https://${PROD_FAPI}`;
const ISS_DEV = `https://${DEV_FAPI}`;
const APP = 'https://app.example.com';
const ADMIN = 'https://admin.example.com';

const CONFIGS = {
  prod: { publishableKey: PK_PROD, jwtKey: PEM, authorizedParties: [], audience: null },
  'prod-azp': { publishableKey: PK_PROD, jwtKey: PEM, authorizedParties: [APP, ADMIN], audience: null },
  'prod-aud': { publishableKey: PK_PROD, jwtKey: PEM, authorizedParties: [], audience: ['api.example.com', 'other'] },
  'prod-aud-string': { publishableKey: PK_PROD, jwtKey: PEM, authorizedParties: [], audience: 'api.example.com' },
  dev: { publishableKey: PK_DEV, jwtKey: PEM, authorizedParties: [], audience: null },
  'dev-padded-pk': { publishableKey: PK_DEV_PADDED, jwtKey: PEM, authorizedParties: [], audience: null },
  // A 60 s clock skew, so that "within skew" cases have 30 s of margin on both sides.
  'prod-skew60': { publishableKey: PK_PROD, jwtKey: PEM, authorizedParties: [], audience: null, clockSkewInMs: 60000 },
  // `nopk` is deliberately absent: @clerk/backend throws "Publishable key is missing." (checked below).
};

// Cookie suffix (clerk-behaviour.md §3), computed by hand and cross-checked with Clerk's own code.
function suffixOf(pk) {
  const digest = crypto.createHash('sha1').update(pk).digest('base64');
  return digest.replace(/\+/g, '-').replace(/\//g, '_').slice(0, 8);
}
for (const pk of [PK_PROD, PK_DEV, PK_DEV_PADDED, 'pk_live_Y2xlcmsuaW5zcGlyZWQucHVtYS03NC5sY2wuZGV2JA']) {
  const theirs = await getCookieSuffix(pk, globalThis.crypto.subtle);
  if (theirs !== suffixOf(pk)) die(`cookie suffix mismatch for ${pk}: ours ${suffixOf(pk)}, Clerk ${theirs}`);
}
if (suffixOf('pk_live_Y2xlcmsuaW5zcGlyZWQucHVtYS03NC5sY2wuZGV2JA') !== 'MqCvchyS') die('doc suffix example mismatch');
const SFX_PROD = suffixOf(PK_PROD);
const SFX_DEV = suffixOf(PK_DEV);
const SFX_DEV_PADDED = suffixOf(PK_DEV_PADDED);

// ---------------------------------------------------------------------------------------------
// Clock: start on a fresh second (time cases sit at least 30 s from any skew edge).
// ---------------------------------------------------------------------------------------------
while (Date.now() % 1000 > 30) {
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000)));
}
const generatedAtMs = Date.now();
const NOW = Math.floor(generatedAtMs / 1000);

// ---------------------------------------------------------------------------------------------
// Token minting
// ---------------------------------------------------------------------------------------------
const b64u = (buf) => Buffer.from(buf).toString('base64url');
const seg = (obj) => b64u(typeof obj === 'string' ? obj : JSON.stringify(obj));

const DEFAULT_HEADER = { alg: 'RS256', kid: 'ins_2conformanceKid', typ: 'JWT' };

/**
 * Mint a JWT.
 *  header / payload: objects (undefined members are dropped, as JSON.stringify does)
 *  rawHeader / rawPayload: segment text used verbatim instead
 *  sign: 'RS256' | 'RS384' | 'RS512' | 'HS256' | 'none' (how the signature is made; defaults to header.alg
 *        when that is RS*, else RS256)
 *  key: private key used for RS*
 */
function mint({ header = DEFAULT_HEADER, payload, rawHeader, rawPayload, sign, key = RIGHT.privateKey } = {}) {
  const h = rawHeader ?? seg(header);
  const p = rawPayload ?? seg(payload);
  const input = `${h}.${p}`;
  const how = sign ?? (['RS256', 'RS384', 'RS512'].includes(header?.alg) ? header.alg : 'RS256');
  let sig;
  switch (how) {
    case 'RS256':
      sig = crypto.sign('sha256', Buffer.from(input), key);
      break;
    case 'RS384':
      sig = crypto.sign('sha384', Buffer.from(input), key);
      break;
    case 'RS512':
      sig = crypto.sign('sha512', Buffer.from(input), key);
      break;
    case 'HS256':
      sig = crypto.createHmac('sha256', PEM).update(input).digest();
      break;
    case 'none':
      sig = Buffer.alloc(0);
      break;
    default:
      throw new Error(`unknown signing ${how}`);
  }
  return `${input}.${b64u(sig)}`;
}

const hdr = (over = {}) => ({ ...DEFAULT_HEADER, ...over });

/** Standard session claims for an instance; `over` members set to undefined are removed. */
function claims(over = {}, iss = ISS_PROD) {
  return {
    azp: APP,
    exp: NOW + 3600,
    iat: NOW - 10,
    iss,
    nbf: NOW - 10,
    sid: 'sess_2conformanceSession',
    sub: 'user_2conformanceUser',
    ...over,
  };
}
const devClaims = (over = {}) => claims(over, ISS_DEV);
const tok = (over = {}, header = {}) => mint({ header: hdr(header), payload: claims(over) });
const devTok = (over = {}, header = {}) => mint({ header: hdr(header), payload: devClaims(over) });

function flipSignature(token) {
  const parts = token.split('.');
  const sig = Buffer.from(parts[2], 'base64url');
  sig[0] ^= 0xff;
  sig[sig.length - 1] ^= 0x55;
  return `${parts[0]}.${parts[1]}.${b64u(sig)}`;
}

// ---------------------------------------------------------------------------------------------
// has() query lists
// ---------------------------------------------------------------------------------------------
const HAS_SMALL = [{ role: 'org:admin' }, { permission: 'org:memberships:read' }, { feature: 'impersonation' }, { reverification: 'lax' }];

const HAS_FULL = [
  // roles
  { role: 'org:admin' },
  { role: 'admin' },
  { role: 'org:org:admin' },
  { role: 'ORG:admin' },
  { role: 'org:member' },
  { role: 'member' },
  // permissions
  { permission: 'org:memberships:read' },
  { permission: 'memberships:read' },
  { permission: 'org:memberships:manage' },
  { permission: 'org:impersonation:read' },
  { permission: 'org:impersonation:manage' },
  { permission: 'org:analytics:read' },
  { permission: 'org:sys_memberships:read' },
  { permission: 'read' },
  // features
  { feature: 'impersonation' },
  { feature: 'o:impersonation' },
  { feature: 'org:impersonation' },
  { feature: 'organization:impersonation' },
  { feature: 'u:impersonation' },
  { feature: 'user:impersonation' },
  { feature: 'dashboard' },
  { feature: 'u:dashboard' },
  { feature: 'o:dashboard' },
  { feature: 'memberships' },
  { feature: 'analytics' },
  { feature: 'x:impersonation' },
  { feature: 'o:' },
  { feature: 'o:impersonation:extra' },
  { feature: 'unknown' },
  // plans
  { plan: 'pro' },
  { plan: 'o:pro' },
  { plan: 'u:pro' },
  { plan: 'free_user' },
  { plan: 'u:free_user' },
  { plan: 'user:free_user' },
  { plan: 'org:free_user' },
  { plan: 'gold' },
  // reverification
  { reverification: 'strict_mfa' },
  { reverification: 'strict' },
  { reverification: 'moderate' },
  { reverification: 'lax' },
  { reverification: 'foo' },
  { reverification: { level: 'first_factor', afterMinutes: 10 } },
  { reverification: { level: 'second_factor', afterMinutes: 5 } },
  { reverification: { level: 'second_factor', afterMinutes: 3000 } },
  { reverification: { level: 'multi_factor', afterMinutes: 60 } },
  { reverification: { level: 'multi_factor', afterMinutes: 3000 } },
  { reverification: { level: 'bogus', afterMinutes: 5 } },
  { reverification: { level: 'second_factor', afterMinutes: 0 } },
  // combinations (every asked dimension must pass) and nothing asked
  { role: 'org:admin', permission: 'org:memberships:read' },
  { role: 'org:admin', permission: 'org:nope:read' },
  { role: 'org:admin', feature: 'o:impersonation' },
  { role: 'org:admin', reverification: 'lax' },
  { permission: 'org:memberships:manage', plan: 'pro' },
  { feature: 'impersonation', plan: 'pro' },
  {},
];

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------
const BASE_URL = 'http://localhost:3000/protected-endpoint';
const cases = [];
const ids = new Set();

function add(id, { config = 'prod', method = 'GET', url = BASE_URL, headers = [], has = HAS_FULL, urgent = false } = {}) {
  if (ids.has(id)) throw new Error(`duplicate case id ${id}`);
  if (!CONFIGS[config]) throw new Error(`unknown config ${config} in ${id}`);
  ids.add(id);
  // Every request carries the Host header of its URL, as a Node http request (and so Express)
  // always does.
  if (!headers.some(([k]) => k.toLowerCase() === 'host')) headers = [['host', new URL(url).host], ...headers];
  cases.push({ id, config, method, url, headers, has, urgent });
}
const bearer = (t) => [['authorization', `Bearer ${t}`]];
const cookie = (...pairs) => [['cookie', pairs.map(([k, v]) => `${k}=${v}`).join('; ')]];
const addHeader = (id, token, opts = {}) => add(id, { ...opts, headers: bearer(token) });

// ---- time claims (built first and evaluated first: some sit close to the skew edge) ----------
{
  const t = {
    'exp-2h-ago': { exp: NOW - 7200, iat: NOW - 10800, nbf: NOW - 10800 },
    'skew60/exp-30s-ago-within-skew': { exp: NOW - 30 },
    'skew60/exp-90s-ago-beyond-skew': { exp: NOW - 90 },
    'skew60/nbf-30s-ahead-within-skew': { nbf: NOW + 30 },
    'skew60/nbf-90s-ahead-beyond-skew': { nbf: NOW + 90 },
    'skew60/iat-30s-ahead-within-skew': { iat: NOW + 30 },
    'skew60/iat-90s-ahead-beyond-skew': { iat: NOW + 90 },
    'exp-30s-ago': { exp: NOW - 30 },
    'nbf-1h-ahead': { nbf: NOW + 3600 },
    'iat-1h-ahead': { iat: NOW + 3600 },
    'exp-string': { exp: '123' },
    'exp-missing': { exp: undefined },
    'exp-float': { exp: NOW + 3600.5 },
    'exp-null': { exp: null },
    'nbf-string': { nbf: String(NOW - 10) },
    'iat-string': { iat: String(NOW - 10) },
    'nbf-missing': { nbf: undefined },
    'iat-missing': { iat: undefined },
    'nbf-null': { nbf: null },
    'iat-and-nbf-1h-ahead': { iat: NOW + 3600, nbf: NOW + 3600 },
    'exp-expired-and-nbf-ahead': { exp: NOW - 60, nbf: NOW + 3600 },
  };
  const postToo = new Set([
    'exp-2h-ago',
    'exp-30s-ago',
    'nbf-1h-ahead',
    'iat-1h-ahead',
    'exp-string',
  ]);
  for (const [name, over] of Object.entries(t)) {
    const token = tok(over);
    const urgent = name.includes('within-skew');
    const config = name.startsWith('skew60/') ? 'prod-skew60' : 'prod';
    addHeader(`time/${name}`, token, { urgent, has: HAS_SMALL, config });
    if (postToo.has(name)) addHeader(`time/${name}-post`, token, { method: 'POST', urgent, has: HAS_SMALL });
  }
}

// ---- valid header tokens ---------------------------------------------------------------------
{
  addHeader('valid/plain', tok());
  addHeader('valid/plain-post', tok(), { method: 'POST' });
  addHeader('valid/with-session-cat', tok({}, { cat: 'cl_B7d4PD111AAA' }));
  addHeader('valid/no-sid', tok({ sid: undefined }));
  addHeader('valid/no-iss', tok({ iss: undefined }));
  addHeader('valid/foreign-iss', tok({ iss: 'https://evil.example.net' }));
  addHeader('valid/empty-sub', tok({ sub: '' }));
  addHeader('valid/extra-custom-claims', tok({ email: 'a@example.com', metadata: { plan: 'x', n: [1, 2] } }));
  addHeader('valid/unicode-claims', tok({ name: 'Zoë ☃' }));

  // v1 organisation claims
  const v1org = {
    org_id: 'org_2conformanceOrg',
    org_role: 'org:admin',
    org_slug: 'acme',
    org_permissions: ['org:memberships:read', 'org:impersonation:read'],
  };
  addHeader('valid/v1-org', tok(v1org));
  addHeader('valid/v1-org-post', tok(v1org), { method: 'POST' });
  addHeader('valid/v1-org-role-unprefixed', tok({ ...v1org, org_role: 'admin' }));
  addHeader('valid/v1-org-role-double-prefix', tok({ ...v1org, org_role: 'org:org:admin' }));
  addHeader('valid/v1-org-perms-unprefixed', tok({ ...v1org, org_permissions: ['memberships:read', 'read'] }));
  addHeader('valid/v1-org-no-perms', tok({ ...v1org, org_permissions: undefined }));
  addHeader('valid/v1-org-role-without-org-id', tok({ ...v1org, org_id: undefined }));
  addHeader('valid/v1-fea-pla', tok({ ...v1org, fea: 'o:impersonation,u:dashboard', pla: 'u:free_user,o:pro' }));
  addHeader('valid/v-string-2-treated-as-v1', tok({ ...v1org, v: '2', o: { id: 'org_v2', rol: 'member', slg: 'v2' } }));

  // v2 tokens
  const v2 = (o, extra = {}) => tok({ v: 2, o, ...extra });
  const o = { id: 'org_2conformanceOrg', rol: 'admin', slg: 'acme', per: 'read,manage', fpm: '1,3' };
  const feaPla = { fea: 'o:impersonation,o:memberships', pla: 'o:pro,u:free_user' };
  addHeader('valid/v2-basic', v2(o, feaPla));
  addHeader('valid/v2-basic-post', v2(o, feaPla), { method: 'POST' });
  addHeader('valid/v2-fpm-3-3', v2({ ...o, fpm: '3,3' }, feaPla));
  addHeader('valid/v2-fpm-0-0', v2({ ...o, fpm: '0,0' }, feaPla));
  addHeader('valid/v2-fpm-2-1', v2({ ...o, fpm: '2,1' }, feaPla));
  addHeader('valid/v2-fpm-malformed-first', v2({ ...o, fpm: 'x,3' }, feaPla));
  addHeader('valid/v2-fpm-negative', v2({ ...o, fpm: '1,-1' }, feaPla));
  addHeader('valid/v2-fpm-decimal-point', v2({ ...o, fpm: '1.0,3' }, feaPla));
  addHeader('valid/v2-fpm-spaces', v2({ ...o, fpm: ' 3 , 1 ' }, feaPla));
  addHeader('valid/v2-fpm-empty-element', v2({ ...o, fpm: ',3' }, feaPla));
  addHeader('valid/v2-fpm-empty', v2({ ...o, fpm: '' }, feaPla));
  addHeader('valid/v2-fpm-missing', v2({ ...o, fpm: undefined }, feaPla));
  addHeader('valid/v2-per-missing', v2({ ...o, per: undefined }, feaPla));
  addHeader('valid/v2-fpm-bits-beyond-per', v2({ ...o, fpm: '7,255' }, feaPla));
  addHeader('valid/v2-fpm-huge-number', v2({ ...o, per: 'read,manage', fpm: '18446744073709551617,36893488147419103235' }, feaPla));
  addHeader('valid/v2-fpm-leading-zeros', v2({ ...o, fpm: '001,0003' }, feaPla));
  addHeader('valid/v2-per-spaces', v2({ ...o, per: ' read , manage ' }, feaPla));
  addHeader(
    'valid/v2-more-features-than-fpm',
    v2(o, { fea: 'o:impersonation,o:memberships,o:analytics', pla: 'o:pro' }),
  );
  addHeader('valid/v2-more-fpm-than-features', v2({ ...o, fpm: '1,3,3' }, { fea: 'o:impersonation', pla: 'o:pro' }));
  addHeader(
    'valid/v2-user-scoped-features',
    v2(o, { fea: 'u:dashboard,o:impersonation,uo:memberships', pla: 'u:free_user' }),
  );
  addHeader('valid/v2-ou-scope', v2(o, { fea: 'ou:impersonation,u:dashboard,o:memberships' }));
  addHeader('valid/v2-unknown-scope-feature', v2(o, { fea: 'x:analytics,o:impersonation,o:memberships' }));
  addHeader('valid/v2-feature-value-with-colon', v2(o, { fea: 'o:impersonation:extra,o:memberships' }));
  addHeader('valid/v2-feature-spaces', v2(o, { fea: ' o:impersonation , o:memberships ' }));
  addHeader('valid/v2-no-fea', v2(o, { pla: 'o:pro' }));
  addHeader('valid/v2-no-org', tok({ v: 2, fea: 'u:dashboard,o:impersonation', pla: 'u:free_user' }));
  addHeader('valid/v2-org-without-rol', v2({ ...o, rol: undefined }, feaPla));
  addHeader('valid/v2-org-role-prefixed-in-claim', v2({ ...o, rol: 'org:admin' }, feaPla));
  addHeader('valid/v2-org-without-id', v2({ ...o, id: undefined }, feaPla));
  addHeader('valid/v2-with-v1-claims-ignored', v2(o, { ...feaPla, org_id: 'org_v1', org_role: 'org:member', org_slug: 'v1', org_permissions: ['org:x:y'] }));
  addHeader('valid/v2-pla-only-user', v2(o, { fea: 'o:impersonation', pla: 'u:pro' }));
  addHeader('valid/v2-fea-element-without-colon', v2(o, { fea: 'impersonation,o:memberships', pla: 'o:pro' }), { has: [] });
  addHeader('valid/v2-fea-not-a-string', v2(o, { fea: ['o:impersonation'], pla: 'o:pro' }), { has: [] });
  addHeader('valid/v2-fpm-not-a-string', v2({ ...o, fpm: 3 }, feaPla), { has: [] });
  addHeader('valid/v2-pla-malformed', v2(o, { fea: 'o:impersonation', pla: 'pro' }));

  // actor
  addHeader('valid/actor', tok({ act: { sub: 'user_2impersonator', iss: 'https://dashboard.clerk.com', sid: 'sess_actor' } }));
  addHeader('valid/actor-with-org', tok({ ...v1org, act: { sub: 'user_2impersonator' } }));

  // factor verification age
  for (const [name, fva] of [
    ['0-minus1', [0, -1]],
    ['5-5', [5, 5]],
    ['minus1-minus1', [-1, -1]],
    ['30-2000', [30, 2000]],
    ['0-0', [0, 0]],
    ['minus1-3', [-1, 3]],
    ['15-minus1', [15, -1]],
    ['9-9', [9, 9]],
    ['10-10', [10, 10]],
    ['one-element', [5]],
    ['strings', ['5', '5']],
    ['minus2', [-2, 5]],
    ['null', null],
  ]) {
    addHeader(`valid/fva-${name}`, tok({ fva }));
  }
  addHeader('valid/fva-0-minus1-post', tok({ fva: [0, -1] }), { method: 'POST' });

  // session status
  addHeader('valid/sts-active', tok({ sts: 'active', fva: [0, -1], ...v1org }));
  addHeader('valid/sts-pending', tok({ sts: 'pending', fva: [0, -1], ...v1org }));
  addHeader('valid/sts-pending-post', tok({ sts: 'pending', fva: [0, -1] }), { method: 'POST' });
  addHeader('valid/sts-other', tok({ sts: 'abandoned' }));

  // a large but valid token (see README: a real Node server rejects >16 KiB of headers with 431)
  addHeader('valid/large-20kb-token', tok({ filler: 'x'.repeat(20 * 1024) }));
}

// ---- signature / alg / typ / sub / cat / kid ------------------------------------------------
{
  const good = tok();
  addHeader('sig/forged-signature', flipSignature(good), { has: HAS_SMALL });
  addHeader('sig/wrong-key', mint({ payload: claims(), key: WRONG.privateKey }), { has: HAS_SMALL });
  addHeader('sig/wrong-key-expired', mint({ payload: claims({ exp: NOW - 7200 }), key: WRONG.privateKey }), { has: HAS_SMALL });
  addHeader('sig/wrong-key-bad-azp', mint({ payload: claims({ azp: 'https://evil.example.net' }), key: WRONG.privateKey }), {
    config: 'prod-azp',
    has: HAS_SMALL,
  });
  addHeader('sig/alg-none-empty-signature', mint({ header: hdr({ alg: 'none' }), payload: claims(), sign: 'none' }), { has: HAS_SMALL });
  addHeader('sig/alg-none-rs256-signature', mint({ header: hdr({ alg: 'none' }), payload: claims(), sign: 'RS256' }), { has: HAS_SMALL });
  addHeader('sig/hs256-pem-secret', mint({ header: hdr({ alg: 'HS256' }), payload: claims(), sign: 'HS256' }), { has: HAS_SMALL });
  addHeader('sig/rs384', mint({ header: hdr({ alg: 'RS384' }), payload: claims() }));
  addHeader('sig/rs512', mint({ header: hdr({ alg: 'RS512' }), payload: claims() }));
  addHeader('sig/es256-header', mint({ header: hdr({ alg: 'ES256' }), payload: claims(), sign: 'RS256' }), { has: HAS_SMALL });
  addHeader('sig/ps256-header', mint({ header: hdr({ alg: 'PS256' }), payload: claims(), sign: 'RS256' }), { has: HAS_SMALL });
  addHeader('sig/alg-lowercase', mint({ header: hdr({ alg: 'rs256' }), payload: claims(), sign: 'RS256' }), { has: HAS_SMALL });
  addHeader('sig/alg-missing', mint({ header: { kid: 'ins_x', typ: 'JWT' }, payload: claims(), sign: 'RS256' }), { has: HAS_SMALL });
  addHeader('sig/rs256-signature-with-rs512-header', mint({ header: hdr({ alg: 'RS512' }), payload: claims(), sign: 'RS256' }), { has: HAS_SMALL });
  addHeader('sig/bad-alg-and-bad-signature', flipSignature(mint({ header: hdr({ alg: 'HS512' }), payload: claims(), sign: 'RS256' })), { has: HAS_SMALL });

  addHeader('sig/typ-JWT', tok({}, { typ: 'JWT' }));
  addHeader('sig/typ-jwt-lowercase', tok({}, { typ: 'jwt' }), { has: HAS_SMALL });
  addHeader('sig/typ-missing', tok({}, { typ: undefined }));
  addHeader('sig/typ-null', tok({}, { typ: null }), { has: HAS_SMALL });
  addHeader('sig/typ-at+jwt', tok({}, { typ: 'at+jwt' }), { has: HAS_SMALL });
  addHeader('sig/typ-application-at+jwt', tok({}, { typ: 'application/at+jwt' }), { has: HAS_SMALL });
  addHeader('sig/typ-foo', tok({}, { typ: 'foo' }), { has: HAS_SMALL });
  addHeader('sig/typ-foo-and-bad-alg', mint({ header: hdr({ typ: 'foo', alg: 'HS256' }), payload: claims(), sign: 'HS256' }), { has: HAS_SMALL });
  {
    const t = tok({}, { typ: 'at+jwt' });
    const [th, tp, ts] = t.split('.');
    const pad = (x) => x + '='.repeat((4 - (x.length % 4)) % 4 || 2);
    addHeader('sig/typ-at+jwt-padded-segments', `${pad(th)}.${pad(tp)}.${ts}`, { has: HAS_SMALL });
  }
  addHeader('sig/typ-at+jwt-wrong-key', mint({ header: hdr({ typ: 'at+jwt' }), payload: claims(), key: WRONG.privateKey }), { has: HAS_SMALL });

  addHeader('sig/sub-missing', tok({ sub: undefined }), { has: HAS_SMALL });
  addHeader('sig/sub-number', tok({ sub: 12345 }), { has: HAS_SMALL });
  addHeader('sig/sub-null', tok({ sub: null }), { has: HAS_SMALL });
  addHeader('sig/sub-machine', tok({ sub: 'mch_2conformanceMachine' }), { has: HAS_SMALL });
  addHeader('sig/sub-machine-wrong-key', mint({ payload: claims({ sub: 'mch_2x' }), key: WRONG.privateKey }), { has: HAS_SMALL });
  addHeader('sig/sub-missing-and-expired', tok({ sub: undefined, exp: NOW - 7200 }), { has: HAS_SMALL });

  addHeader('sig/cat-session', tok({}, { cat: 'cl_B7d4PD111AAA' }));
  addHeader('sig/cat-ignore', tok({}, { cat: 'cl_I7d4PD111III' }));
  addHeader('sig/cat-m2m', tok({}, { cat: 'cl_B7d4PD333AAA' }), { has: HAS_SMALL });
  addHeader('sig/cat-other', tok({}, { cat: 'other' }), { has: HAS_SMALL });
  addHeader('sig/cat-empty-string', tok({}, { cat: '' }), { has: HAS_SMALL });
  addHeader('sig/cat-null', tok({}, { cat: null }), { has: HAS_SMALL });
  addHeader('sig/cat-other-wrong-key', mint({ header: hdr({ cat: 'other' }), payload: claims(), key: WRONG.privateKey }), { has: HAS_SMALL });

  addHeader('sig/kid-missing', tok({}, { kid: undefined }));
  addHeader('sig/kid-random', tok({}, { kid: `ins_${crypto.randomBytes(8).toString('hex')}` }));
}

// ---- azp -----------------------------------------------------------------------------------
for (const config of ['prod-azp', 'prod']) {
  const variants = {
    matching: { azp: APP },
    'matching-second': { azp: ADMIN },
    mismatching: { azp: 'https://evil.example.net' },
    'trailing-slash': { azp: `${APP}/` },
    missing: { azp: undefined },
    'empty-string': { azp: '' },
    'non-string': { azp: 42 },
    array: { azp: [APP] },
    'non-latin1': { azp: 'https://☃.example.net' },
  };
  for (const [name, over] of Object.entries(variants)) {
    addHeader(`azp/${config}-${name}`, tok(over), { config, has: HAS_SMALL });
  }
}
addHeader('azp/prod-azp-mismatching-post', tok({ azp: 'https://evil.example.net' }), { config: 'prod-azp', method: 'POST', has: HAS_SMALL });
addHeader('azp/prod-azp-mismatching-and-expired', tok({ azp: 'https://evil.example.net', exp: NOW - 7200 }), { config: 'prod-azp', has: HAS_SMALL });

// ---- aud -----------------------------------------------------------------------------------
for (const config of ['prod-aud', 'prod', 'prod-aud-string']) {
  const variants = {
    'string-match': { aud: 'api.example.com' },
    'array-match': { aud: ['x.example.com', 'other'] },
    mismatch: { aud: 'nope.example.com' },
    'array-mismatch': { aud: ['nope.example.com', 'nada'] },
    missing: { aud: undefined },
  };
  if (config === 'prod-aud') {
    Object.assign(variants, {
      'empty-string': { aud: '' },
      'empty-array': { aud: [] },
      number: { aud: 5 },
      'array-with-number': { aud: [5] },
      'array-mixed-match': { aud: [5, 'api.example.com'] },
      'case-differs': { aud: 'API.example.com' },
    });
  }
  for (const [name, over] of Object.entries(variants)) {
    addHeader(`aud/${config}-${name}`, tok(over), { config, has: HAS_SMALL });
  }
}
addHeader('aud/prod-aud-mismatch-and-bad-azp', tok({ aud: 'nope', azp: 'https://evil.example.net' }), { config: 'prod-aud', has: HAS_SMALL });

// ---- malformed -----------------------------------------------------------------------------
{
  const good = tok();
  const [h, p, s] = good.split('.');
  const m = (name, token) => addHeader(`malformed/${name}`, token, { has: HAS_SMALL });
  add('malformed/empty-bearer', { headers: [['authorization', 'Bearer ']], has: HAS_SMALL });
  add('malformed/bearer-only', { headers: [['authorization', 'Bearer']], has: HAS_SMALL });
  m('two-parts', `${h}.${p}`);
  m('four-parts', `${good}.${s}`);
  m('one-part', h);
  m('empty-parts', '..');
  m('leading-dot', `.${p}.${s}`);
  m('bad-base64-header', `@@@.${p}.${s}`);
  m('header-standard-base64-chars', `${h}+/.${p}.${s}`);
  m('bad-json-payload', `${h}.${seg('{"sub":"user_1",')}.${s}`);
  m('bad-json-header', `${seg('{"alg":')}.${p}.${s}`);
  m('payload-array', mint({ rawPayload: seg('[1,2,3]') }));
  m('payload-number', mint({ rawPayload: seg('42') }));
  m('payload-null', mint({ rawPayload: seg('null') }));
  m('payload-string', mint({ rawPayload: seg('"user_1"') }));
  m('header-null', mint({ rawHeader: seg('null'), payload: claims() }));
  m('header-array', mint({ rawHeader: seg('["RS256"]'), payload: claims() }));
  m('signature-not-base64url', `${h}.${p}.${'!'.repeat(20)}`);
  m('signature-standard-base64', `${h}.${p}.${Buffer.from(s, 'base64url').toString('base64')}`);
  {
    // 256-byte signature -> 342 chars; the last char carries 4 unused bits which must be zero.
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = s[s.length - 1];
    const bumped = chars[(chars.indexOf(last) & ~0x0f) | ((chars.indexOf(last) + 1) & 0x0f)];
    m('signature-noncanonical-tail-bits', `${h}.${p}.${s.slice(0, -1)}${bumped}`);
  }
  m('signature-empty', `${h}.${p}.`);
  m('signature-truncated', `${h}.${p}.${s.slice(0, 40)}`);
  m('header-one-char-remainder', `${h}A.${p}.${s}`);
  m('payload-padded-base64url', mint({ rawPayload: `${seg(claims())}${'='.repeat((4 - (seg(claims()).length % 4)) % 4) || '=='}` }));
  m('header-padded-base64url', mint({ rawHeader: `${seg(DEFAULT_HEADER)}${'='.repeat((4 - (seg(DEFAULT_HEADER).length % 4)) % 4) || '=='}`, payload: claims() }));
  m('garbage-20kb', crypto.randomBytes(15 * 1024).toString('base64url'));
  m('random-word', 'hello');
  m('api-key-like-opaque', 'ak_2conformanceApiKey');
  m('whitespace-inside', `${h}.${p} .${s}`);
}

// ---- Authorization header variants ----------------------------------------------------------
{
  const good = tok();
  const bad = flipSignature(good);
  const cookieGood = tok({ sub: 'user_fromCookie' });
  const a = (name, headers, opts = {}) => add(`authz/${name}`, { headers, ...opts });
  a('bearer-lowercase-scheme', [['authorization', `bearer ${good}`]]);
  a('basic-scheme', [['authorization', `Basic ${good}`]]);
  a('no-scheme', [['authorization', good]]);
  a('bearer-two-spaces', [['authorization', `Bearer  ${good}`]]);
  a('bearer-trailing-space', [['authorization', `Bearer ${good} `]]);
  a('bearer-leading-space', [['authorization', ` Bearer ${good}`]]);
  a('bearer-token-then-garbage', [['authorization', `Bearer ${good} garbage`]]);
  a('bearer-tab-separator', [['authorization', `Bearer\t${good}`]]);
  a('BEARER-uppercase-scheme', [['authorization', `BEARER ${good}`]]);
  a('basic-two-spaces', [['authorization', `Basic  ${good}`]]);
  a('empty-value', [['authorization', '']]);
  a('two-headers-valid-first', [['authorization', `Bearer ${good}`], ['authorization', `Bearer ${bad}`]]);
  a('two-headers-invalid-first', [['authorization', `Bearer ${bad}`], ['authorization', `Bearer ${good}`]]);
  a('valid-header-invalid-cookie', [['authorization', `Bearer ${good}`], ...cookie(['__session', bad], ['__client_uat', String(NOW - 100)])]);
  a('invalid-header-valid-cookie', [['authorization', `Bearer ${bad}`], ...cookie(['__session', cookieGood], ['__client_uat', String(NOW - 100)])]);
  a('lowercase-scheme-falls-to-valid-cookie', [['authorization', `bearer ${good}`], ...cookie(['__session', cookieGood], ['__client_uat', String(NOW - 100)])]);
  a('basic-scheme-falls-to-valid-cookie', [['authorization', 'Basic dXNlcjpwYXNz'], ...cookie(['__session', cookieGood], ['__client_uat', String(NOW - 100)])]);
  a('expired-header-valid-cookie', [['authorization', `Bearer ${tok({ exp: NOW - 7200 })}`], ...cookie(['__session', cookieGood], ['__client_uat', String(NOW - 100)])]);
  a('header-uat-newer-than-iat-ignored', [['authorization', `Bearer ${good}`], ...cookie(['__client_uat', String(NOW + 1000)])]);
}

// ---- several Authorization lines (clerk-behaviour.md §12) -------------------------------------
// Clerk sees the lines joined with ", " (requestHeaders, as a Fetch runtime joins them). Where
// its parse of the joined value gives a token, that token ends in "," and cannot be decoded:
// token-invalid, cookies unread, as the crate answers. The `ambiguous/deliberate/` cases are those
// where Clerk reads past the lines instead (the joined value's scheme is not `Bearer`, so it goes
// on to the cookies; or the first line is `Bearer <token> <more>`, whose token verifies): the
// crate still answers token-invalid (tests/conformance.rs, ALLOWED_DIFFERENCES).
{
  const good = tok();
  const second = tok({ sub: 'user_2secondUser', sid: 'sess_2second' });
  const forged = flipSignature(good);
  const withCookie = [...cookie(['__session', tok({ sub: 'user_fromCookie' })], ['__client_uat', String(NOW - 100)])];
  const auth = (v) => ['authorization', v];
  const lines = {
    'valid-valid-same': [auth(`Bearer ${good}`), auth(`Bearer ${good}`)],
    'valid-valid-different': [auth(`Bearer ${good}`), auth(`Bearer ${second}`)],
    'valid-garbage': [auth(`Bearer ${good}`), auth('Bearer garbage')],
    'garbage-valid': [auth('Bearer garbage'), auth(`Bearer ${good}`)],
    'forged-valid': [auth(`Bearer ${forged}`), auth(`Bearer ${good}`)],
    'valid-basic': [auth(`Bearer ${good}`), auth('Basic dXNlcjpwYXNz')],
    'valid-empty': [auth(`Bearer ${good}`), auth('')],
    'empty-empty': [auth(''), auth('')],
    'three-valid': [auth(`Bearer ${good}`), auth(`Bearer ${good}`), auth(`Bearer ${good}`)],
    'three-valid-garbage-last': [auth(`Bearer ${good}`), auth(`Bearer ${second}`), auth('Bearer garbage')],
    'deliberate/basic-valid': [auth('Basic dXNlcjpwYXNz'), auth(`Bearer ${good}`)],
    'deliberate/bare-garbage-valid': [auth('garbage'), auth(`Bearer ${good}`)],
    'deliberate/empty-valid': [auth(''), auth(`Bearer ${good}`)],
    'deliberate/bare-valid-bare-valid': [auth(good), auth(good)],
    'deliberate/bearer-alone-then-bare-valid': [auth('Bearer'), auth(good)],
    'deliberate/valid-and-word-garbage': [auth(`Bearer ${good} junk`), auth('Bearer garbage')],
  };
  for (const [name, headers] of Object.entries(lines)) {
    add(`ambiguous/${name}`, { headers, has: HAS_SMALL });
    add(`ambiguous/${name}-valid-cookie`, { headers: [...headers, ...withCookie], has: HAS_SMALL });
  }
  add('ambiguous/deliberate/basic-valid-post', { method: 'POST', headers: lines['deliberate/basic-valid'], has: HAS_SMALL });
  add('ambiguous/valid-garbage-post', { method: 'POST', headers: lines['valid-garbage'], has: HAS_SMALL });
}

// ---- cookies, production --------------------------------------------------------------------
{
  const UAT = String(NOW - 100);
  const s = tok();
  const c = (name, headers, opts = {}) => add(`cookie/${name}`, { headers, ...opts });
  c('session-and-uat-valid', cookie(['__session', s], ['__client_uat', UAT]));
  c('session-and-uat-valid-post', cookie(['__session', s], ['__client_uat', UAT]), { method: 'POST' });
  c('v2-org-session', cookie(['__session', tok({ v: 2, o: { id: 'org_c', rol: 'admin', slg: 'c', per: 'read,manage', fpm: '1,3' }, fea: 'o:impersonation,o:memberships', pla: 'u:free_user' })], ['__client_uat', UAT]));
  c('uat-missing', cookie(['__session', s]), { has: HAS_SMALL });
  c('uat-zero', cookie(['__session', s], ['__client_uat', '0']), { has: HAS_SMALL });
  c('uat-newer-than-iat', cookie(['__session', s], ['__client_uat', String(NOW + 100)]), { has: HAS_SMALL });
  c('uat-equals-iat', cookie(['__session', s], ['__client_uat', String(NOW - 10)]));
  c('uat-one-after-iat', cookie(['__session', s], ['__client_uat', String(NOW - 9)]), { has: HAS_SMALL });
  c('uat-not-a-number', cookie(['__session', s], ['__client_uat', 'abc']), { has: HAS_SMALL });
  c('uat-number-prefix', cookie(['__session', s], ['__client_uat', '12abc']));
  c('uat-negative', cookie(['__session', s], ['__client_uat', '-5']));
  c('uat-float', cookie(['__session', s], ['__client_uat', `${NOW - 10}.9`]));
  c('uat-exponent', cookie(['__session', s], ['__client_uat', '1e12']));
  c('uat-empty', cookie(['__session', s], ['__client_uat', '']), { has: HAS_SMALL });
  c('session-missing-with-uat', cookie(['__client_uat', UAT]), { has: HAS_SMALL });
  c('session-missing-with-uat-zero', cookie(['__client_uat', '0']), { has: HAS_SMALL });
  c('session-empty-with-uat', cookie(['__session', ''], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('no-cookies', [], { has: HAS_SMALL });
  c('unrelated-cookies', cookie(['foo', 'bar'], ['theme', 'dark']), { has: HAS_SMALL });
  c('session-not-a-jwt', cookie(['__session', 'garbage'], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('session-bad-json', cookie(['__session', `${seg('{"alg"')}.${seg('{}')}.${seg('x')}`], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('session-forged-signature', cookie(['__session', flipSignature(s)], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('session-typ-at+jwt', cookie(['__session', tok({}, { typ: 'at+jwt' })], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('session-typ-at+jwt-uat-newer', cookie(['__session', tok({}, { typ: 'at+jwt' })], ['__client_uat', String(NOW + 100)]), { has: HAS_SMALL });
  c('session-machine-sub', cookie(['__session', tok({ sub: 'mch_2x' })], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('session-cat-other', cookie(['__session', tok({}, { cat: 'other' })], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('session-cat-m2m', cookie(['__session', tok({}, { cat: 'cl_B7d4PD333AAA' })], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('session-typ-foo', cookie(['__session', tok({}, { typ: 'foo' })], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('session-iat-missing', cookie(['__session', tok({ iat: undefined })], ['__client_uat', UAT]));
  c('session-iat-string-uat-set', cookie(['__session', tok({ iat: 'abc' })], ['__client_uat', UAT]), { has: HAS_SMALL });
  const expired = tok({ exp: NOW - 7200, iat: NOW - 10800, nbf: NOW - 10800 });
  c('expired-get', cookie(['__session', expired], ['__client_uat', String(NOW - 20000)]), { has: HAS_SMALL });
  c('expired-post', cookie(['__session', expired], ['__client_uat', String(NOW - 20000)]), { method: 'POST', has: HAS_SMALL });
  c('expired-get-plain-refresh-cookie', cookie(['__session', expired], ['__client_uat', String(NOW - 20000)], ['__refresh', 'rt_x']), { has: HAS_SMALL });
  c('nbf-ahead', cookie(['__session', tok({ nbf: NOW + 3600 })], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('iat-ahead', cookie(['__session', tok({ iat: NOW + 3600 })], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('no-azp-no-authorized-parties', cookie(['__session', tok({ azp: undefined })], ['__client_uat', UAT]));
  c('no-azp-with-authorized-parties', cookie(['__session', tok({ azp: undefined })], ['__client_uat', UAT]), { config: 'prod-azp', has: HAS_SMALL });
  c('azp-matching-with-authorized-parties', cookie(['__session', s], ['__client_uat', UAT]), { config: 'prod-azp' });
  c('sts-pending', cookie(['__session', tok({ sts: 'pending' })], ['__client_uat', UAT]));
  c('v2-fea-element-without-colon', cookie(['__session', tok({ v: 2, o: { id: 'org_c', rol: 'admin', per: 'read', fpm: '1' }, fea: 'impersonation' })], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('percent-encoded-uat', cookie(['__session', s], ['__client_uat', encodeURIComponent(UAT).replace(/\d/g, (d) => `%3${d}`)]));
  c('percent-encoded-session', cookie(['__session', s.replace(/\./g, '%2E')], ['__client_uat', UAT]));
  c('percent-encoded-invalid-escape', cookie(['__session', `${s}%ZZ`], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('quoted-session-value', cookie(['__session', `"${s}"`], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('quoted-uat-value', cookie(['__session', s], ['__client_uat', `"${UAT}"`]), { has: HAS_SMALL });
  c('duplicate-session-valid-first', cookie(['__session', s], ['__session', 'garbage'], ['__client_uat', UAT]));
  c('duplicate-session-invalid-first', cookie(['__session', 'garbage'], ['__session', s], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('duplicate-uat-zero-first', cookie(['__session', s], ['__client_uat', '0'], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('duplicate-uat-valid-first', cookie(['__session', s], ['__client_uat', UAT], ['__client_uat', '0']));
  c('two-cookie-headers', [['cookie', `__session=${s}`], ['cookie', `__client_uat=${UAT}`]]);
  c('two-cookie-headers-duplicate-session', [['cookie', `__session=garbage`], ['cookie', `__session=${s}; __client_uat=${UAT}`]], { has: HAS_SMALL });
  c('cookie-spacing-and-empty-segments', [['cookie', `  __session = ${s} ;;; junk ; __client_uat=${UAT};`]]);
  c('cookie-name-case-differs', cookie(['__Session', s], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('session-with-wrong-key', cookie(['__session', mint({ payload: claims(), key: WRONG.privateKey })], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('session-sub-missing', cookie(['__session', tok({ sub: undefined })], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('session-alg-none', cookie(['__session', mint({ header: hdr({ alg: 'none' }), payload: claims(), sign: 'none' })], ['__client_uat', UAT]), { has: HAS_SMALL });
  c('session-aud-mismatch', cookie(['__session', tok({ aud: 'nope' })], ['__client_uat', UAT]), { config: 'prod-aud', has: HAS_SMALL });
}

// ---- cookie suffix selection (clerk-behaviour.md §3 rules 1-8) ---------------------------------
{
  const S = (n) => `${n}_${SFX_PROD}`;
  const UAT = String(NOW - 100);
  const plain = (over = {}) => tok({ sub: 'user_plainCookie', ...over });
  const suff = (over = {}) => tok({ sub: 'user_suffixedCookie', ...over });
  const r = (name, pairs, opts = {}) => add(`suffix/${name}`, { headers: cookie(...pairs), ...opts });

  // rule 1: plain session without iss / undecodable -> plain pair
  r('rule1-plain-no-iss', [['__session', plain({ iss: undefined })], ['__client_uat', UAT], [S('__session'), suff()], [S('__client_uat'), UAT]]);
  r('rule1-plain-empty-iss', [['__session', plain({ iss: '' })], ['__client_uat', UAT], [S('__session'), suff()], [S('__client_uat'), UAT]]);
  r('rule1-plain-undecodable', [['__session', 'garbage'], ['__client_uat', UAT], [S('__session'), suff()], [S('__client_uat'), UAT]], { has: HAS_SMALL });
  r('rule1-plain-no-iss-no-plain-uat', [['__session', plain({ iss: undefined })], [S('__session'), suff()], [S('__client_uat'), UAT]], { has: HAS_SMALL });
  // rule 2: plain session of another instance (or non-string iss) -> suffixed pair
  r('rule2-plain-foreign-iss', [['__session', plain({ iss: 'https://clerk.other.com' })], ['__client_uat', UAT], [S('__session'), suff()], [S('__client_uat'), UAT]]);
  r('rule2-plain-iss-not-string', [['__session', plain({ iss: 42 })], ['__client_uat', UAT], [S('__session'), suff()], [S('__client_uat'), UAT]]);
  r('rule2-plain-iss-trailing-slash', [['__session', plain({ iss: `${ISS_PROD}/` })], ['__client_uat', UAT], [S('__session'), suff()], [S('__client_uat'), UAT]]);
  r('rule2-plain-foreign-iss-no-suffixed-cookies', [['__session', plain({ iss: 'https://clerk.other.com' })], ['__client_uat', UAT]], { has: HAS_SMALL });
  r('rule2-plain-iss-uppercase-scheme', [['__session', plain({ iss: `HTTPS://${PROD_FAPI}`, iat: NOW - 5 })], ['__client_uat', UAT], [S('__session'), suff()], [S('__client_uat'), UAT]]);
  r('rule2-plain-iss-http-scheme', [['__session', plain({ iss: `http://${PROD_FAPI}`, iat: NOW - 5 })], ['__client_uat', UAT], [S('__session'), suff()], [S('__client_uat'), UAT]]);
  r('rule2-plain-iss-no-scheme', [['__session', plain({ iss: PROD_FAPI, iat: NOW - 5 })], ['__client_uat', UAT], [S('__session'), suff()], [S('__client_uat'), UAT]]);
  r('rule2-plain-iss-double-scheme', [['__session', plain({ iss: `https://https://${PROD_FAPI}`, iat: NOW - 5 })], ['__client_uat', UAT], [S('__session'), suff()], [S('__client_uat'), UAT]]);
  // rule 3: no suffixed cookies -> plain pair
  r('rule3-no-suffixed-cookies', [['__session', plain()], ['__client_uat', UAT]]);
  r('rule3-only-suffixed-refresh', [['__session', plain()], ['__client_uat', UAT], [S('__refresh'), 'rt_x']]);
  r('rule3-suffixed-empty-values', [['__session', plain()], ['__client_uat', UAT], [S('__session'), ''], [S('__client_uat'), '']]);
  // rule 4: plain session newer than suffixed session, uats not "0" -> plain pair
  r('rule4-plain-newer', [['__session', plain({ iat: NOW - 5 })], ['__client_uat', UAT], [S('__session'), suff({ iat: NOW - 50 })], [S('__client_uat'), UAT]]);
  r('rule4-suffixed-newer', [['__session', plain({ iat: NOW - 50 })], ['__client_uat', UAT], [S('__session'), suff({ iat: NOW - 5 })], [S('__client_uat'), UAT]]);
  r('rule4-same-iat', [['__session', plain()], ['__client_uat', UAT], [S('__session'), suff()], [S('__client_uat'), UAT]]);
  r('rule4-plain-newer-plain-uat-missing', [['__session', plain({ iat: NOW - 5 })], [S('__session'), suff({ iat: NOW - 50 })], [S('__client_uat'), UAT]], { has: HAS_SMALL });
  r('rule4-plain-newer-suffixed-uat-missing', [['__session', plain({ iat: NOW - 5 })], ['__client_uat', UAT], [S('__session'), suff({ iat: NOW - 50 })]]);
  r('rule4-plain-newer-plain-uat-zero', [['__session', plain({ iat: NOW - 5 })], ['__client_uat', '0'], [S('__session'), suff({ iat: NOW - 50 })], [S('__client_uat'), UAT]]);
  r('rule4-plain-newer-suffixed-session-missing', [['__session', plain({ iat: NOW - 5 })], ['__client_uat', UAT], [S('__client_uat'), UAT]]);
  // rule 5: suffixed uat "0", plain uat not "0" -> plain pair
  r('rule5-suffixed-uat-zero', [['__session', plain({ iat: NOW - 50 })], ['__client_uat', UAT], [S('__session'), suff({ iat: NOW - 5 })], [S('__client_uat'), '0']]);
  r('rule5-suffixed-uat-zero-plain-uat-missing', [['__session', plain({ iat: NOW - 50 })], [S('__session'), suff({ iat: NOW - 5 })], [S('__client_uat'), '0']], { has: HAS_SMALL });
  r('rule5-both-uats-zero', [['__session', plain({ iat: NOW - 50 })], ['__client_uat', '0'], [S('__session'), suff({ iat: NOW - 5 })], [S('__client_uat'), '0']], { has: HAS_SMALL });
  // rule 6 does not apply to production: expired suffixed session is still chosen
  r('rule6-prod-not-applied', [['__client_uat', '0'], [S('__session'), suff({ exp: NOW - 60, iat: NOW - 4000, nbf: NOW - 4000 })], [S('__client_uat'), String(NOW - 5000)]], { has: HAS_SMALL });
  // rule 7: suffixed session but no suffixed uat -> plain pair
  r('rule7-suffixed-session-no-suffixed-uat', [['__session', plain({ iat: NOW - 50 })], ['__client_uat', UAT], [S('__session'), suff({ iat: NOW - 5 })]]);
  r('rule7-only-suffixed-session', [[S('__session'), suff()]], { has: HAS_SMALL });
  // rule 8: otherwise -> suffixed pair
  r('rule8-only-suffixed-pair', [[S('__session'), suff()], [S('__client_uat'), UAT]]);
  r('rule8-only-suffixed-uat', [[S('__client_uat'), UAT]], { has: HAS_SMALL });
  r('rule8-suffixed-pair-with-plain-uat', [['__client_uat', UAT], [S('__session'), suff()], [S('__client_uat'), UAT]]);
  r('rule8-suffixed-invalid-plain-valid', [['__session', plain({ iat: NOW - 50 })], ['__client_uat', UAT], [S('__session'), flipSignature(suff({ iat: NOW - 5 }))], [S('__client_uat'), UAT]], { has: HAS_SMALL });
  r('rule8-suffixed-uat-newer-than-suffixed-iat', [[S('__session'), suff()], [S('__client_uat'), String(NOW + 100)]], { has: HAS_SMALL });
  r('wrong-suffix-ignored', [['__session_AAAAAAAA', suff()], ['__client_uat_AAAAAAAA', UAT]], { has: HAS_SMALL });
  r('dev-suffix-on-prod-ignored', [[`__session_${SFX_DEV}`, suff()], [`__client_uat_${SFX_DEV}`, UAT]], { has: HAS_SMALL });
}

// ---- cookies, development -------------------------------------------------------------------
{
  const S = (n) => `${n}_${SFX_DEV}`;
  const UAT = String(NOW - 100);
  const s = devTok();
  const d = (name, headers, opts = {}) => add(`dev/${name}`, { config: 'dev', headers, ...opts });
  d('no-dev-browser', cookie(['__session', s], ['__client_uat', UAT]), { has: HAS_SMALL });
  d('no-dev-browser-no-cookies', [], { has: HAS_SMALL });
  d('dev-browser-cookie-valid-session', cookie(['__clerk_db_jwt', 'dvb_2conformance'], ['__session', s], ['__client_uat', UAT]));
  d('dev-browser-cookie-valid-session-post', cookie(['__clerk_db_jwt', 'dvb_2conformance'], ['__session', s], ['__client_uat', UAT]), { method: 'POST' });
  d('dev-browser-cookie-no-session', cookie(['__clerk_db_jwt', 'dvb_2conformance']), { has: HAS_SMALL });
  d('dev-browser-cookie-uat-zero', cookie(['__clerk_db_jwt', 'dvb_2conformance'], ['__session', s], ['__client_uat', '0']), { has: HAS_SMALL });
  d('dev-browser-query-valid-session', cookie(['__session', s], ['__client_uat', UAT]), {
    url: `${BASE_URL}?__clerk_db_jwt=dvb_2conformance`,
    has: HAS_SMALL,
  });
  d('dev-browser-query-and-cookie', cookie(['__clerk_db_jwt', 'dvb_2conformance'], ['__session', s], ['__client_uat', UAT]), {
    url: `${BASE_URL}?__clerk_db_jwt=dvb_2conformance`,
    has: HAS_SMALL,
  });
  d('dev-browser-query-empty-value', cookie(['__clerk_db_jwt', 'dvb_2conformance'], ['__session', s], ['__client_uat', UAT]), {
    url: `${BASE_URL}?__clerk_db_jwt=`,
    has: HAS_SMALL,
  });
  d('dev-browser-query-post', cookie(['__clerk_db_jwt', 'dvb_2conformance'], ['__session', s], ['__client_uat', UAT]), {
    url: `${BASE_URL}?__clerk_db_jwt=dvb_2conformance`,
    method: 'POST',
    has: HAS_SMALL,
  });
  d('dev-browser-empty-cookie', cookie(['__clerk_db_jwt', ''], ['__session', s], ['__client_uat', UAT]), { has: HAS_SMALL });
  d('header-token-no-dev-browser', bearer(s));
  d('header-token-with-dev-browser-query', bearer(s), { url: `${BASE_URL}?__clerk_db_jwt=dvb_2conformance` });
  d('header-token-expired', bearer(devTok({ exp: NOW - 7200 })), { has: HAS_SMALL });
  d('expired-cookie-get', cookie(['__clerk_db_jwt', 'dvb_2conformance'], ['__session', devTok({ exp: NOW - 7200, iat: NOW - 10800 })], ['__client_uat', String(NOW - 20000)]), { has: HAS_SMALL });
  d('expired-cookie-post', cookie(['__clerk_db_jwt', 'dvb_2conformance'], ['__session', devTok({ exp: NOW - 7200, iat: NOW - 10800 })], ['__client_uat', String(NOW - 20000)]), { method: 'POST', has: HAS_SMALL });
  d('prod-issued-session', cookie(['__clerk_db_jwt', 'dvb_2conformance'], ['__session', tok()], ['__client_uat', UAT]), { has: HAS_SMALL });
  // suffixed cookies in development; the dev-browser cookie is suffixed along with them
  d('suffixed-pair-suffixed-dev-browser', cookie([S('__clerk_db_jwt'), 'dvb_2conformance'], [S('__session'), s], [S('__client_uat'), UAT]));
  d('suffixed-pair-plain-dev-browser', cookie(['__clerk_db_jwt', 'dvb_2conformance'], [S('__session'), s], [S('__client_uat'), UAT]), { has: HAS_SMALL });
  d('plain-pair-suffixed-dev-browser', cookie([S('__clerk_db_jwt'), 'dvb_2conformance'], ['__session', s], ['__client_uat', UAT]), { has: HAS_SMALL });
  // rule 6 (development only): suffixed uat not "0", plain uat "0", suffixed session expired -> plain
  const expiredSuffixed = devTok({ sub: 'user_suffixedCookie', exp: NOW - 60, iat: NOW - 4000, nbf: NOW - 4000 });
  d('rule6-expired-suffixed-plain-uat-zero', cookie(['__clerk_db_jwt', 'dvb_2conformance'], ['__client_uat', '0'], [S('__clerk_db_jwt'), 'dvb_2conformance'], [S('__session'), expiredSuffixed], [S('__client_uat'), String(NOW - 5000)]), { has: HAS_SMALL });
  d('rule6-expired-suffixed-plain-uat-zero-plain-session', cookie(['__clerk_db_jwt', 'dvb_2conformance'], ['__session', devTok({ sub: 'user_plainCookie', iat: NOW - 6000 })], ['__client_uat', '0'], [S('__clerk_db_jwt'), 'dvb_2conformance'], [S('__session'), expiredSuffixed], [S('__client_uat'), String(NOW - 5000)]), { has: HAS_SMALL });
  d('rule6-not-expired-suffixed-plain-uat-zero', cookie(['__clerk_db_jwt', 'dvb_2conformance'], ['__client_uat', '0'], [S('__clerk_db_jwt'), 'dvb_2conformance'], [S('__session'), devTok({ sub: 'user_suffixedCookie' })], [S('__client_uat'), UAT]));
  d('rule6-expired-suffixed-plain-uat-missing', cookie(['__clerk_db_jwt', 'dvb_2conformance'], [S('__clerk_db_jwt'), 'dvb_2conformance'], [S('__session'), expiredSuffixed], [S('__client_uat'), String(NOW - 5000)]), { has: HAS_SMALL });
  // a publishable key written with '=' padding has a different cookie suffix
  const SP = (n) => `${n}_${SFX_DEV_PADDED}`;
  add('dev/padded-pk-suffixed-pair', { config: 'dev-padded-pk', headers: cookie([SP('__clerk_db_jwt'), 'dvb_2conformance'], [SP('__session'), s], [SP('__client_uat'), UAT]) });
  add('dev/padded-pk-unpadded-suffix-ignored', { config: 'dev-padded-pk', headers: cookie([S('__clerk_db_jwt'), 'dvb_2conformance'], [S('__session'), s], [S('__client_uat'), UAT]), has: HAS_SMALL });
  add('dev/padded-pk-header-token', { config: 'dev-padded-pk', headers: bearer(s) });
}

// ---- browser navigations: where Clerk would redirect to its handshake ------------------------
{
  const s = tok();
  const UAT = String(NOW - 100);
  const jar = (...extra) => [['cookie', [`__session=${s}`, `__client_uat=${UAT}`, ...extra].join('; ')]];
  const nav = (referer, more = []) => [...jar(), ['sec-fetch-dest', 'document'], ['referer', referer], ...more];
  add('browser/cross-origin-navigation', { headers: nav('https://evil.example.net/page'), has: HAS_SMALL });
  add('browser/cross-origin-navigation-post', { method: 'POST', headers: nav('https://evil.example.net/page'), has: HAS_SMALL });
  add('browser/same-origin-navigation', { headers: nav('http://localhost:3000/other'), has: HAS_SMALL });
  add('browser/same-origin-default-port-spelled', { url: 'http://localhost/protected-endpoint', headers: nav('http://LOCALHOST:80/x'), has: HAS_SMALL });
  add('browser/from-accounts-portal', { headers: nav('https://accounts.example.com/sign-in'), has: HAS_SMALL });
  add('browser/from-frontend-api', { headers: nav('https://clerk.example.com/v1/client'), has: HAS_SMALL });
  add('browser/redirect-count-1', { headers: [['cookie', [`__session=${s}`, `__client_uat=${UAT}`, '__clerk_redirect_count=1'].join('; ')], ['sec-fetch-dest', 'document'], ['referer', 'https://evil.example.net/']], has: HAS_SMALL });
  add('browser/fetch-not-navigation', { headers: [...jar(), ['sec-fetch-dest', 'empty'], ['referer', 'https://evil.example.net/']], has: HAS_SMALL });
  add('browser/iframe-not-document', { headers: [...jar(), ['sec-fetch-dest', 'iframe'], ['referer', 'https://evil.example.net/']], has: HAS_SMALL });
  add('browser/forwarded-host-same-origin', { headers: nav('http://shop.example.net/', [['x-forwarded-host', 'shop.example.net']]), has: HAS_SMALL });
  add('browser/forwarded-proto-https', { headers: nav('https://localhost:3000/', [['x-forwarded-proto', 'https']]), has: HAS_SMALL });
  add('browser/unparsable-referer', { headers: nav('not a url'), has: HAS_SMALL });
  add('browser/expired-navigation', { headers: [['cookie', `__session=${tok({ exp: NOW - 7200 })}; __client_uat=${UAT}`], ['sec-fetch-dest', 'document'], ['referer', 'https://evil.example.net/']], has: HAS_SMALL });
  add('browser/pending-cross-origin', { headers: [['cookie', `__session=${tok({ sts: 'pending' })}; __client_uat=${UAT}`], ['sec-fetch-dest', 'document'], ['referer', 'https://evil.example.net/']], has: HAS_SMALL });
  add('browser/header-token-cross-origin', { headers: [...bearer(s), ['sec-fetch-dest', 'document'], ['referer', 'https://evil.example.net/']], has: HAS_SMALL });
  const d = devTok();
  const devJar = `__clerk_db_jwt=dvb_2conformance; __session=${d}; __client_uat=${UAT}`;
  add('browser/dev-from-account-portal', { config: 'dev', headers: [['cookie', devJar], ['sec-fetch-dest', 'document'], ['referer', 'https://fine-ant-12.accounts.dev/sign-in']], has: HAS_SMALL });
  add('browser/dev-cross-origin', { config: 'dev', headers: [['cookie', devJar], ['sec-fetch-dest', 'document'], ['referer', 'https://evil.example.net/']], has: HAS_SMALL });
  // query parameter names are decoded as URLSearchParams does
  add('browser/dev-encoded-db-jwt-param', { config: 'dev', url: `${BASE_URL}?%5F%5Fclerk_db_jwt=x`, headers: [['cookie', devJar]], has: HAS_SMALL });
  add('browser/dev-plus-in-param-name', { config: 'dev', url: `${BASE_URL}?__clerk+db_jwt=x`, headers: [['cookie', devJar]], has: HAS_SMALL });
}

// ---- numbers and white space read the JavaScript way ---------------------------------------
{
  const s = tok({ iat: NOW - 10 });
  for (const [name, uat] of Object.entries({ hex: '0x10', 'hex-upper': '0X1F', 'hex-huge': '0x7fffffffff', 'hex-negative': '-0x10', 'hex-empty': '0x', 'leading-space': '%20%2012', 'bom': '%EF%BB%BF12', 'nel': '%C2%8512' })) {
    add(`numbers/client-uat-${name}`, { headers: cookie(['__session', s], ['__client_uat', uat]), has: HAS_SMALL });
  }
  const org = { id: 'org_ws', rol: 'admin', slg: 'ws' };
  const v2 = (fea, per, fpm) => tok({ v: 2, fea, o: { ...org, per, fpm } });
  addHeader('numbers/fea-leading-nel', v2('\u0085o:memberships', 'read', '1'));
  addHeader('numbers/fea-trailing-bom', v2('o:memberships\ufeff', 'read', '1'));
  addHeader('numbers/per-nbsp-and-bom', v2('o:memberships', '\u00a0read\ufeff,manage', '3'));
  addHeader('numbers/fpm-nel', v2('o:memberships', 'read,manage', '\u00853'));
  addHeader('numbers/fpm-ideographic-space', v2('o:memberships', 'read,manage', '\u30003\u3000'));
}

// ---------------------------------------------------------------------------------------------
// Running a case through Clerk
// ---------------------------------------------------------------------------------------------

const clients = {};
for (const [name, cfg] of Object.entries(CONFIGS)) {
  clients[name] = createClerkClient({ secretKey: SECRET_KEY, publishableKey: cfg.publishableKey, jwtKey: cfg.jwtKey, apiUrl: API_URL });
}

function plainAuth(auth) {
  const out = {};
  for (const [k, v] of Object.entries(auth)) {
    if (typeof v === 'function' || v === undefined) continue;
    out[k] = v;
  }
  return JSON.parse(JSON.stringify(out));
}

async function run(c) {
  const cfg = CONFIGS[c.config];
  const request = new Request(c.url, { method: c.method, headers: requestHeaders(c.headers) });
  const options = {
    jwtKey: cfg.jwtKey,
    publishableKey: cfg.publishableKey,
    secretKey: SECRET_KEY,
    authorizedParties: cfg.authorizedParties,
  };
  if (cfg.audience !== null) options.audience = cfg.audience;
  if (cfg.clockSkewInMs !== undefined) options.clockSkewInMs = cfg.clockSkewInMs;
  const rs = await clients[c.config].authenticateRequest(request, options);
  const expected = {
    status: rs.status,
    reason: rs.reason ?? null,
    message: rs.message ?? null,
    tokenType: rs.tokenType ?? null,
    headers: Object.fromEntries(rs.headers ? [...rs.headers.entries()] : []),
    auth: null,
    has: [],
  };
  let auth;
  try {
    auth = rs.toAuth();
  } catch (e) {
    expected.toAuthError = `${e?.name ?? 'Error'}: ${e?.message ?? String(e)}`;
    return expected;
  }
  if (auth == null) {
    expected.has = c.has.map(() => false);
    return expected;
  }
  expected.auth = plainAuth(auth);
  expected.has = c.has.map((q) => {
    const r = auth.has(q);
    if (typeof r !== 'boolean') throw new Error(`has() returned ${r} in ${c.id}`);
    return r;
  });
  return expected;
}

// nopk: confirm that Clerk refuses to run without a publishable key (so the config is left out).
{
  let note;
  try {
    const c = createClerkClient({ secretKey: SECRET_KEY, jwtKey: PEM, apiUrl: API_URL });
    await c.authenticateRequest(new Request(BASE_URL, { headers: bearer(tok()) }), { jwtKey: PEM, secretKey: SECRET_KEY });
    note = 'accepted';
  } catch (e) {
    note = `throws: ${e.message.split('\n')[0]}`;
  }
  process.stderr.write(`nopk config (no publishable key): ${note}\n`);
  if (note === 'accepted') process.stderr.write('WARNING: @clerk/backend now accepts a missing publishable key; consider adding a nopk config\n');
}

const results = new Map();
const order = [...cases.filter((c) => c.urgent), ...cases.filter((c) => !c.urgent)];
for (const c of order) {
  try {
    results.set(c.id, await run(c));
  } catch (e) {
    die(`case ${c.id}: authenticateRequest threw: ${e?.stack ?? e}`);
  }
  if (c.urgent && Date.now() - generatedAtMs > 900) {
    die(`time-sensitive case ${c.id} ran ${Date.now() - generatedAtMs} ms after generation start; result may be wrong`);
  }
}

const doc = {
  clerkBackendVersion: installedVersion,
  generatedAtMs,
  configs: CONFIGS,
  cases: cases.map(({ urgent, ...c }) => ({ ...c, expected: results.get(c.id) })),
};

// ---- summary on stderr ----
{
  const counts = new Map();
  for (const c of doc.cases) {
    const k = `${c.expected.status}${c.expected.reason ? ` / ${c.expected.reason}` : ''}${c.expected.toAuthError ? ' (toAuth throws)' : ''}${c.expected.auth && c.expected.auth.isAuthenticated === false && c.expected.status === 'signed-in' ? ' (toAuth signed out)' : ''}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  process.stderr.write(`@clerk/backend ${installedVersion}: ${doc.cases.length} cases, ${Date.now() - generatedAtMs} ms\n`);
  for (const [k, n] of [...counts.entries()].sort((a, b) => b[1] - a[1])) process.stderr.write(`  ${String(n).padStart(4)}  ${k}\n`);
}

process.stdout.write(`${JSON.stringify(doc, null, 1)}\n`);
