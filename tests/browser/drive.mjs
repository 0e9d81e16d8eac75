// Drives Debian's headless Chromium (/usr/bin/chromium) with playwright-core for
// tests/browser.rs: one fresh browser (a new empty profile), the given cookies, then steps,
// one at a time, so that the test can look at its stand-ins between two steps.
//
// Input: JSON lines on stdin. The first sets the browser up:
//   { "origin": "http://localhost:PORT",   // whose cookies are set and reported
//     "cookies": [{ "name", "value" }],    // set for `origin` before the first step
//     "timeout_ms": 15000 }
// then one line per step: { "goto": url } or { "reload": true }. End of input closes it.
// Output: JSON lines on stdout: { "ready": the user agent } once launched, then one per step:
//   { "url": final URL, "status": final status, "error": navigation error or null,
//     "status_text": text of #status or null, "user": text of #user or null,
//     "body": the page's text (cut at 500 characters),
//     "chain": [{ "url", "status", "location", "set_cookie": [lines], "request_cookie" }]
//              every response of the navigation in order (redirects first),
//     "cookies": the browser's cookies for `origin` after the step }
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The text of `selector`, or null when the page has none. */
async function textOf(page, selector) {
  try {
    return await page.$eval(selector, (el) => el.textContent);
  } catch {
    return null;
  }
}

/** Every response of the navigation that ended with `response`, redirects first. */
async function chainOf(response) {
  const requests = [];
  for (let req = response?.request(); req; req = req.redirectedFrom()) requests.unshift(req);
  const chain = [];
  for (const req of requests) {
    const res = await req.response();
    const headers = res ? await res.headersArray() : [];
    const requestHeaders = await req.allHeaders().catch(() => ({}));
    chain.push({
      url: req.url(),
      status: res ? res.status() : null,
      location: headers.find((h) => h.name.toLowerCase() === 'location')?.value ?? null,
      set_cookie: headers
        .filter((h) => h.name.toLowerCase() === 'set-cookie')
        .flatMap((h) => h.value.split('\n')),
      request_cookie: requestHeaders.cookie ?? null,
    });
  }
  return chain;
}

/** Runs one step (a navigation) and describes where it ended. */
async function run(context, page, origin, step) {
  let response = null;
  let error = null;
  try {
    response = step.reload
      ? await page.reload({ waitUntil: 'load' })
      : await page.goto(step.goto, { waitUntil: 'load' });
  } catch (e) {
    error = String(e?.message ?? e).split('\n')[0];
  }
  const body = await page.evaluate(() => document.body?.innerText ?? '').catch(() => '');
  return {
    url: page.url(),
    status: response ? response.status() : null,
    error,
    status_text: await textOf(page, '#status'),
    user: await textOf(page, '#user'),
    body: body.slice(0, 500),
    chain: await chainOf(response),
    cookies: await context.cookies(origin),
  };
}

const write = (value) => process.stdout.write(JSON.stringify(value) + '\n');
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
const first = await lines.next();
if (first.done) process.exit(0);
const setup = JSON.parse(first.value);
const timeout = setup.timeout_ms ?? 15000;
const profile = mkdtempSync(join(tmpdir(), 'actix-clerk-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
    timeout,
  });
  if (setup.cookies?.length) {
    await context.addCookies(
      setup.cookies.map((c) => ({ name: c.name, value: c.value, url: setup.origin })),
    );
  }
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(timeout);
  write({ ready: await page.evaluate(() => navigator.userAgent) });
  for (let line = await lines.next(); !line.done; line = await lines.next()) {
    if (line.value.trim() === '') continue;
    write(await run(context, page, setup.origin, JSON.parse(line.value)));
  }
} finally {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
