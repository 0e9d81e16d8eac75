// Load-test peer: Express 5 + @clerk/express, networkless.
// Env: PORT, CLERK_JWT_KEY (PEM), CLERK_SECRET_KEY (dummy), CLERK_PUBLISHABLE_KEY (pk_live_…
// of a made-up host), CLERK_TELEMETRY_DISABLED=1. With BARE=1: the same app without Clerk,
// answering the constant user id of bare actix-web (BARE_USER_ID, the id of session 0).
// clerkMiddleware() + getAuth(): Clerk's recommended setup (requireAuth() is deprecated and
// redirects); signed-out requests get 401 like the strict Rust middlewares.
// Every server of bench/load.sh answers {"userId":"<user id>"}.
'use strict';
const express = require('express');

const BARE_USER_ID = 'user_2bench000000000000000000000';

const app = express();
if (process.env.BARE === '1') {
  app.get('/', (req, res) => res.json({ userId: BARE_USER_ID }));
} else {
  const { clerkMiddleware, getAuth } = require('@clerk/express');
  app.use(clerkMiddleware());
  app.get('/', (req, res) => {
    const { userId } = getAuth(req);
    if (!userId) return res.status(401).send('unauthenticated');
    res.json({ userId });
  });
}
const port = Number(process.env.PORT || 18080);
app.listen(port, '127.0.0.1');
