// Organisation sync as @clerk/backend decides it: for each case (a signed-in session cookie on
// a page navigation, `organizationSyncOptions`), Clerk's request state: status, reason and the
// handshake Location (which carries `organization_id`). Driven by tests/org_sync.rs: cases as
// JSON on stdin, answers on stdout. Networkless (PEM key; the API URL is never called).
import { createClerkClient } from '@clerk/backend';
import { requestHeaders } from './node-request.mjs';

// Clerk's loop warnings would fill the test log.
console.warn = () => {};

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (c) => { text += c; });
  process.stdin.on('end', () => resolve(text));
}));

const results = [];
for (const c of input.cases) {
  const options = {
    secretKey: 'sk_test_org_sync',
    publishableKey: input.publishableKey,
    jwtKey: input.jwtKey,
    apiUrl: 'http://127.0.0.1:9',
  };
  const client = createClerkClient(options);
  const request = new Request(c.url, { method: 'GET', headers: requestHeaders(c.headers) });
  let out;
  try {
    const rs = await client.authenticateRequest(request, {
      ...options,
      organizationSyncOptions: c.organizationSyncOptions,
    });
    out = {
      status: rs.status,
      reason: rs.reason ?? null,
      location: rs.headers?.get('location') ?? null,
    };
  } catch (e) {
    out = { error: `${e?.name}: ${e?.message}` };
  }
  results.push({ id: c.id, ...out });
}
process.stdout.write(JSON.stringify({ results }));
