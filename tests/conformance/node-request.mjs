// How a request's headers reach @clerk/backend, shared by the scripts that replay requests
// through it (generate.mjs, hostile-oracle.mjs).
//
// As Node's http module hands them to Express: duplicates of the headers below are discarded
// (the first is kept), duplicate `cookie` headers are joined with "; ", other duplicates with
// ", ", and leading/trailing spaces and tabs are trimmed from each value.
//
// One exception: duplicate `authorization` lines are joined with ", " (each trimmed), as a
// Fetch `Headers` joins them, so @clerk/backend decides them as it does on a Fetch runtime.
// Node alone would keep only the first line; the crate never signs such a request in
// (clerk-behaviour.md §12), and the Fetch view is the one Clerk itself refuses.
const NODE_DISCARD_DUPLICATES = new Set([
  'age', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host',
  'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards',
  'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent',
]);

export function requestHeaders(raw) {
  const node = new Map();
  const authorization = [];
  for (const [name, value] of raw) {
    const k = name.toLowerCase();
    const v = value.replace(/^[ \t]+|[ \t]+$/g, '');
    if (k === 'authorization') authorization.push([k, v]);
    else if (!node.has(k)) node.set(k, v);
    else if (k === 'cookie') node.set(k, `${node.get(k)}; ${v}`);
    else if (!NODE_DISCARD_DUPLICATES.has(k)) node.set(k, `${node.get(k)}, ${v}`);
  }
  // The Headers constructor appends each pair: repeated names are combined with ", ".
  return new Headers([...node.entries(), ...authorization]);
}
