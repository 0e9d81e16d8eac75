// Runs Backend API calls through Clerk's SDK (`createClerkClient(...).users.getUser(...)`, …)
// against a Backend API (the testing kit's stand-in): the other half of the differential tests
// of the Rust client. Input on stdin:
//   {"apiUrl": "...", "secretKey": "...", "calls": [{"id": "...", "fn": "users.getUser", "args": [...]}]}
// Output on stdout:
//   {"results": [{"id", "ok": <the returned value, JSON.stringify-ed and parsed> | null,
//                 "error": {"status", "errors", "clerkTraceId", "retryAfter"} | null}]}
// Calls run one after the other, in order.
import fs from 'node:fs';

const { createClerkClient } = await import('@clerk/backend');

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const clerk = createClerkClient({ secretKey: input.secretKey, apiUrl: input.apiUrl });

const results = [];
for (const call of input.calls) {
  const [resource, method] = call.fn.split('.');
  try {
    const api = clerk[resource];
    if (!api || typeof api[method] !== 'function') throw new Error(`no such call: ${call.fn}`);
    const value = await api[method](...(call.args ?? []));
    results.push({ id: call.id, ok: value === undefined ? null : JSON.parse(JSON.stringify(value)), error: null });
  } catch (e) {
    results.push({
      id: call.id,
      ok: null,
      error: {
        status: e.status ?? null,
        errors: e.errors ?? [{ message: String(e && e.message) }],
        clerkTraceId: e.clerkTraceId ?? null,
        retryAfter: e.retryAfter ?? null,
      },
    });
  }
}
process.stdout.write(JSON.stringify({ results }));
