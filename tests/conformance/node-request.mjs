// How a request reaches Express through Node's http module, shared by the scripts that replay
// requests through @clerk/backend.
//
// Node discards duplicates of these headers (keeps the first), joins duplicate `cookie` headers
// with "; " and other duplicates with ", ", and trims leading/trailing spaces and tabs.
const NODE_DISCARD_DUPLICATES = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host',
  'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards',
  'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent',
]);

export function nodeStyleHeaders(raw) {
  const out = new Map();
  for (const [name, value] of raw) {
    const k = name.toLowerCase();
    const v = value.replace(/^[ \t]+|[ \t]+$/g, '');
    if (!out.has(k)) out.set(k, v);
    else if (k === 'cookie') out.set(k, `${out.get(k)}; ${v}`);
    else if (!NODE_DISCARD_DUPLICATES.has(k)) out.set(k, `${out.get(k)}, ${v}`);
  }
  return new Headers([...out.entries()]);
}
