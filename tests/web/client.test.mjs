// The JS client (web/tokengate.js) in header mode against a running server:
//   TOKENGATE_URL=http://127.0.0.1:3000 node --test tests/web/
// Each test registers its own user, so reruns against one server never collide.
// The wrong-password tests spend 6 of the per-address failed-login budget
// (LOGIN_MAX_FAILURES_PER_IP, 50 per window by default).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { test } from 'node:test';

import { Tokengate, TokengateError } from '../../web/tokengate.js';

const baseUrl = process.env.TOKENGATE_URL?.replace(/\/+$/, '');
if (!baseUrl) throw new Error('set TOKENGATE_URL to a running tokengate, e.g. http://127.0.0.1:3000');

const validateUrl = `${baseUrl}/api/auth/validate`;
const todosUrl = `${baseUrl}/api/todos`;
// Far past any access token's lifetime (ACCESS_TOKEN_TTL_SECS is at most a day).
const PAST_EXPIRY_MS = 2 * 24 * 3600 * 1000;

/** @param {import('../../web/tokengate.js').TokengateOptions} [options] */
function client(options = {}) {
  return new Tokengate({ baseUrl, ...options });
}

/** A registered user of its own. */
async function newUser() {
  const user = {
    id: `web-${randomBytes(6).toString('hex')}`,
    password: `pw-${randomBytes(8).toString('hex')}`,
    name: 'Web Test',
  };
  await client().register(user);
  return user;
}

async function signedInClient(user, options) {
  const c = client(options);
  await c.login(user.id, user.password);
  return c;
}

/**
 * A fetch that records `METHOD /path` of every request before sending it, and
 * `METHOD /path STATUS` of every answer.
 */
function recordingFetch(rewrite = (request) => request) {
  /** @type {string[]} */
  const calls = [];
  /** @type {string[]} */
  const answers = [];
  /** @type {typeof fetch} */
  const fetchFn = async (input, init) => {
    const request = rewrite(new Request(input, init));
    const call = `${request.method} ${new URL(request.url).pathname}`;
    calls.push(call);
    const response = await fetch(request);
    answers.push(`${call} ${response.status}`);
    return response;
  };
  return { fetch: fetchFn, calls, answers, count: (call) => calls.filter((c) => c === call).length };
}

/** Sends what a client addresses to `alias` (another origin) to the server under test. */
function aliasFetch(alias) {
  /** @type {typeof fetch} */
  return (input, init) => fetch(String(input).replace(alias, baseUrl), init);
}

/** The reason of the client's next `signedout` event. */
async function nextSignOut(c) {
  const [event] = await once(c, 'signedout');
  return event.detail.reason;
}

/** A Map-backed TokenStorage that several clients can share. */
function sharedStorage() {
  const items = new Map();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

/** A minimal Web Locks stand-in (Node 20 has none): exclusive, first come first served, `ifAvailable`. */
function fakeLocks() {
  /** @type {Map<string, Promise<void>>} released when the last request for the name lets go */
  const tails = new Map();
  /** @type {Map<string, number>} holders and waiters */
  const busy = new Map();
  return {
    /** Whether any lock is held or asked for. */
    held: () => [...busy.values()].some((n) => n > 0),
    async request(name, ...args) {
      const callback = args.pop();
      if (args[0]?.ifAvailable && busy.get(name)) return callback(null);
      busy.set(name, (busy.get(name) ?? 0) + 1);
      const previous = tails.get(name) ?? Promise.resolve();
      let release;
      tails.set(name, new Promise((resolve) => (release = resolve)));
      await previous;
      try {
        return await callback({ name, mode: 'exclusive' });
      } finally {
        busy.set(name, busy.get(name) - 1);
        release();
      }
    },
  };
}

/** Runs `body` with `navigator.locks` (read by clients made meanwhile) set to `locks`. */
async function withLocks(locks, body) {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: { locks }, configurable: true, writable: true });
  try {
    return await body();
  } finally {
    if (saved) Object.defineProperty(globalThis, 'navigator', saved);
    else delete globalThis.navigator;
  }
}

async function eventually(condition, what) {
  for (let i = 0; i < 200; i += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('register, login and validate', async () => {
  const user = { id: `web-${randomBytes(6).toString('hex')}`, password: 'correct horse battery', name: 'Alice' };
  const c = client();
  const registered = await c.register(user);
  assert.equal(registered.id, user.id);
  assert.equal(registered.name, 'Alice');
  assert.equal(typeof registered.seq, 'number');
  assert.equal(c.signedIn, false, 'registering does not sign in');

  const signedIn = once(c, 'signedin');
  await c.login(user.id, user.password);
  await signedIn;
  assert.equal(c.signedIn, true);
  assert.equal(typeof c.accessToken, 'string');
  assert.deepEqual(await c.validate(), registered);
});

test('register refuses a taken id with user_exists', async () => {
  const user = await newUser();
  await assert.rejects(client().register(user), { name: 'TokengateError', status: 409, code: 'user_exists' });
});

test('sessions lists this device as current', async () => {
  const c = await signedInClient(await newUser());
  const sessions = await c.sessions();
  assert.equal(sessions.length, 1);
  const [session] = sessions;
  assert.equal(session.current, true);
  assert.equal(typeof session.sessionId, 'string');
  for (const time of ['createdAt', 'refreshedAt', 'expiresAt', 'lifetimeEndsAt']) {
    assert.equal(typeof session[time], 'number', time);
  }
  assert.equal(typeof session.userAgent, 'string');
  assert.equal(typeof session.sourceIp, 'string');
});

test('a revoked device is signed out on its next call', async () => {
  const user = await newUser();
  const phone = await signedInClient(user);
  const laptop = await signedInClient(user);
  const sessions = await phone.sessions();
  assert.equal(sessions.length, 2);
  const other = sessions.find((s) => !s.current);
  assert.ok(other, 'the other device is listed, not as current');

  await phone.revoke(other.sessionId);
  const reason = nextSignOut(laptop);
  await assert.rejects(laptop.validate(), { status: 401, code: 'session-ended' });
  assert.equal(await reason, 'session-ended');
  assert.equal(laptop.signedIn, false);
  assert.equal(laptop.accessToken, null);
  assert.equal((await phone.sessions()).length, 1, 'the revoking device keeps its session');
});

test('changePassword gives this device working tokens and ends the others', async () => {
  const user = await newUser();
  const here = await signedInClient(user);
  const elsewhere = await signedInClient(user);
  const before = here.accessToken;

  await here.changePassword(user.password, 'a brand new password');
  assert.notEqual(here.accessToken, before);
  assert.equal((await here.validate()).id, user.id);
  await here.refresh();
  assert.equal((await here.validate()).id, user.id, 'the new refresh token works too');

  const reason = nextSignOut(elsewhere);
  await assert.rejects(elsewhere.validate(), { code: 'session-ended' });
  assert.equal(await reason, 'session-ended');
  await signedInClient({ ...user, password: 'a brand new password' });
});

test('logout ends this session only', async () => {
  const user = await newUser();
  const c = await signedInClient(user);
  const other = await signedInClient(user);
  const token = c.accessToken;

  const reason = nextSignOut(c);
  await c.logout();
  assert.equal(await reason, 'logout');
  assert.equal(c.signedIn, false);
  const stale = await fetch(validateUrl, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(stale.status, 401, 'the old access token is dead server-side');
  await assert.rejects(c.validate(), { status: 401, code: 'signed-out' });
  assert.equal((await other.validate()).id, user.id, 'the other device is still signed in');
});

test('logoutAll ends every session', async () => {
  const user = await newUser();
  const c = await signedInClient(user);
  const other = await signedInClient(user);

  const reason = nextSignOut(c);
  await c.logoutAll();
  assert.equal(await reason, 'logout-all');
  assert.equal(c.signedIn, false);
  const otherReason = nextSignOut(other);
  await assert.rejects(other.validate(), { code: 'session-ended' });
  assert.equal(await otherReason, 'session-ended');
});

test('a wrong password is invalid_credentials; repeated, too_many_attempts with Retry-After', async () => {
  const user = await newUser();
  const c = client();
  const wrong = await c.login(user.id, 'not the password').catch((e) => e);
  assert.ok(wrong instanceof TokengateError);
  assert.equal(wrong.status, 401);
  assert.equal(wrong.code, 'invalid_credentials');
  assert.equal(wrong.retryAfter, null);
  assert.equal(c.signedIn, false);

  // The account's limit (LOGIN_MAX_FAILURES, 5 by default) is then reached.
  for (let i = 0; i < 4; i += 1) {
    await assert.rejects(c.login(user.id, 'not the password'), { code: 'invalid_credentials' });
  }
  const throttled = await c.login(user.id, user.password).catch((e) => e);
  assert.equal(throttled.status, 429);
  assert.equal(throttled.code, 'too_many_attempts');
  assert.ok(throttled.retryAfter > 0, `retryAfter ${throttled.retryAfter}`);
});

test('activity: a first sign-in is from a new device, then a wrong password is listed first', async () => {
  const user = await newUser();
  const c = await signedInClient(user);
  const first = await c.activity();
  assert.equal(first.nextCursor, null, 'one event: the last page');
  assert.equal(first.events.length, 1);
  const [signIn] = first.events;
  assert.equal(signIn.type, 'signed_in');
  assert.equal(signIn.newDevice, true, 'the account had never seen this device');
  assert.equal(typeof signIn.id, 'string');
  assert.ok(Math.abs(signIn.at - Date.now() / 1000) < 120, `at ${signIn.at} is Unix seconds, now`);
  assert.equal(typeof signIn.sourceIp, 'string');
  assert.equal(typeof signIn.userAgent, 'string');

  await assert.rejects(client().login(user.id, 'not the password'), { code: 'invalid_credentials' });
  const { events } = await c.activity();
  assert.deepEqual(
    events.map((e) => e.type),
    ['sign_in_failed', 'signed_in'],
  );
  assert.equal(events[0].newDevice, false);
  assert.equal(events[1].id, signIn.id);

  // Signing in again from the same device (the same user agent): not new.
  await signedInClient(user);
  const [again] = (await c.activity({ limit: 1 })).events;
  assert.equal(again.type, 'signed_in');
  assert.equal(again.newDevice, false);
});

test('activity pages with limit and nextCursor: newest first, each event once', async () => {
  const user = await newUser();
  const laptop = await signedInClient(user);
  const phone = await signedInClient(user);
  const tablet = await signedInClient(user);
  const tabletSession = (await tablet.sessions()).find((s) => s.current);
  await laptop.revoke(tabletSession.sessionId);
  await phone.logout();

  const all = await laptop.activity();
  assert.equal(all.nextCursor, null);
  assert.deepEqual(
    all.events.map((e) => e.type),
    ['signed_out', 'session_revoked', 'signed_in', 'signed_in', 'signed_in'],
  );
  assert.ok(all.events.every((e, i) => i === 0 || all.events[i - 1].at >= e.at), 'newest first');

  const firstPage = await laptop.activity({ limit: 1 });
  assert.deepEqual(firstPage.events.map((e) => e.id), [all.events[0].id]);
  assert.match(firstPage.nextCursor ?? '', /^\d+\.[0-9a-f-]{36}$/);
  const secondPage = await laptop.activity({ limit: 1, cursor: firstPage.nextCursor });
  assert.deepEqual(secondPage.events.map((e) => e.id), [all.events[1].id], 'the next older event');

  // Page by page to the end (a page may hold fewer events than asked for).
  /** @type {string[]} */
  const paged = [];
  /** @type {string | null} */
  let cursor = null;
  let pages = 0;
  do {
    const page = await laptop.activity({ limit: 2, cursor });
    assert.ok(page.events.length <= 2, `page ${pages}: ${page.events.length} events`);
    paged.push(...page.events.map((e) => e.id));
    cursor = page.nextCursor;
    pages += 1;
    assert.ok(pages <= all.events.length + 1, 'the pages come to an end');
  } while (cursor !== null);
  assert.deepEqual(paged, all.events.map((e) => e.id), 'every event once, in order');
});

test("activity: another user's cursor reaches only the caller's own events", async () => {
  const bob = await signedInClient(await newUser());
  const alice = await newUser();
  const aliceLaptop = await signedInClient(alice);
  await signedInClient(alice);
  const bobs = (await bob.activity()).events.map((e) => e.id);
  assert.equal(bobs.length, 1);

  // Alice's cursor is after her newest event, which is newer than Bob's sign-in.
  const { events, nextCursor } = await aliceLaptop.activity({ limit: 1 });
  assert.equal(events.length, 1);
  assert.ok(nextCursor);
  const page = await bob.activity({ cursor: nextCursor });
  assert.deepEqual(page.events.map((e) => e.id), bobs, "Bob's own sign-in, nothing of Alice's");
});

test('activity refuses a bad limit or cursor with invalid_request (400)', async () => {
  const c = await signedInClient(await newUser());
  for (const options of [
    { cursor: 'not-a-cursor' },
    { cursor: '1764650000123.not-a-uuid' },
    { cursor: '' },
    { limit: 0 },
    { limit: 101 },
    { limit: 2.5 },
  ]) {
    await assert.rejects(
      c.activity(options),
      { name: 'TokengateError', status: 400, code: 'invalid_request' },
      JSON.stringify(options),
    );
  }
  assert.equal(c.signedIn, true, 'a 400 leaves the session alone');
  assert.equal((await c.activity({ limit: 100 })).events.length, 1);
});

test('activity sends only the options given', async () => {
  const tokens = { accessToken: 'access', refreshToken: 'refresh', tokenType: 'Bearer', expiresIn: 3600 };
  /** @type {string[]} */
  const urls = [];
  // Canned answers, no server.
  const c = client({
    fetch: async (input, init) => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      if (url.pathname !== '/api/auth/activity') return Response.json(tokens);
      urls.push(url.pathname + url.search);
      assert.equal(request.method, 'GET');
      assert.equal(request.headers.get('Authorization'), 'Bearer access');
      return Response.json({ events: [], nextCursor: null });
    },
  });
  await c.login('someone', 'a password');
  assert.deepEqual(await c.activity(), { events: [], nextCursor: null });
  await c.activity({ limit: 5 });
  await c.activity({ cursor: '1764650000123.0b6f2c1e-8a8f-4c44-9d55-6a1b2c3d4e5f' });
  await c.activity({ limit: 1, cursor: 'a b&c=d' });
  await c.activity({ limit: null, cursor: null });
  assert.deepEqual(urls, [
    '/api/auth/activity',
    '/api/auth/activity?limit=5',
    '/api/auth/activity?cursor=1764650000123.0b6f2c1e-8a8f-4c44-9d55-6a1b2c3d4e5f',
    '/api/auth/activity?limit=1&cursor=a+b%26c%3Dd',
    '/api/auth/activity',
  ]);
});

test('no server is a network error (status 0)', async () => {
  const c = new Tokengate({ baseUrl: 'http://127.0.0.1:9' });
  await assert.rejects(c.login('nobody', 'whatever1'), { name: 'TokengateError', status: 0, code: 'network' });
});

test('single-flight: ten parallel fetches past expiry share one refresh', async () => {
  const user = await newUser();
  let skew = 0;
  const recorder = recordingFetch();
  const c = await signedInClient(user, { fetch: recorder.fetch, now: () => Date.now() + skew });
  const before = c.accessToken;

  skew = PAST_EXPIRY_MS;
  const responses = await Promise.all(Array.from({ length: 10 }, () => c.fetch(validateUrl)));
  assert.deepEqual(
    responses.map((r) => r.status),
    Array(10).fill(200),
  );
  assert.equal(recorder.count('POST /api/auth/refresh'), 1);
  assert.equal(recorder.count('GET /api/auth/validate'), 10);
  assert.notEqual(c.accessToken, before);
  assert.equal((await responses[0].json()).id, user.id);
});

test('a 401 is refreshed once and retried once', async () => {
  const user = await newUser();
  const storage = sharedStorage();
  const recorder = recordingFetch();
  const c = await signedInClient(user, { storage, channelName: null, fetch: recorder.fetch });
  // A second client on the same stored session rotates it: c's access token
  // is now dead server-side, though c still thinks it fresh.
  assert.equal(await client({ storage, channelName: null }).restore(), true);

  const response = await c.fetch(validateUrl);
  assert.equal(response.status, 200);
  assert.deepEqual(recorder.calls, [
    'POST /api/auth/login',
    'GET /api/auth/validate',
    'POST /api/auth/refresh',
    'GET /api/auth/validate',
  ]);
});

test('an authorizer deny (403 {"message":"Forbidden"}) is refreshed once and retried once', async () => {
  const user = await newUser();
  let garbled = false;
  const recorder = recordingFetch((request) => {
    if (garbled || !request.url.endsWith('/api/todos')) return request;
    // Only the first GET: the authorizer denies it.
    garbled = true;
    const forged = new Request(request);
    forged.headers.set('Authorization', 'Bearer garbage');
    return forged;
  });
  const c = await signedInClient(user, { fetch: recorder.fetch });

  const response = await c.fetch(todosUrl);
  assert.equal(response.status, 200);
  assert.ok(Array.isArray((await response.json()).todos));
  assert.equal(recorder.count('POST /api/auth/refresh'), 1);
  assert.equal(recorder.count('GET /api/todos'), 2);
  assert.deepEqual(
    recorder.answers.filter((a) => a.startsWith('GET /api/todos')),
    ['GET /api/todos 403', 'GET /api/todos 200'],
  );
});

test("tokengate's own 403 is final: a wrong current password never refreshes", async () => {
  const user = await newUser();
  const recorder = recordingFetch();
  const c = await signedInClient(user, { fetch: recorder.fetch });

  await assert.rejects(c.changePassword('not the password', 'a brand new password'), {
    name: 'TokengateError',
    status: 403,
    code: 'invalid_current_password',
  });
  assert.equal(recorder.count('POST /api/auth/password'), 1);
  assert.equal(recorder.count('POST /api/auth/refresh'), 0);
  assert.equal(c.signedIn, true);
});

test('only a 403 of exactly {"message":"Forbidden"} is retried', async () => {
  const tokens = { accessToken: 'access', refreshToken: 'refresh', tokenType: 'Bearer', expiresIn: 3600 };
  for (const [body, refreshes] of [
    ['{"message":"Forbidden"}', 1],
    ['{"message":"Forbidden","error":"csrf_rejected"}', 0],
    ['{"error":"forbidden","message":"Forbidden"}', 0],
    ['Forbidden', 0],
    ['{}', 0],
  ]) {
    const calls = [];
    // Canned answers, no server: login and refresh give tokens, the API a 403 with `body`.
    const c = client({
      fetch: async (input, init) => {
        const { pathname } = new URL(new Request(input, init).url);
        calls.push(pathname);
        if (pathname.startsWith('/api/auth/')) return Response.json(tokens);
        return new Response(body, { status: 403 });
      },
    });
    await c.login('someone', 'a password');
    assert.equal((await c.fetch(todosUrl)).status, 403);
    assert.equal(calls.filter((p) => p === '/api/auth/refresh').length, refreshes, body);
  }
});

test('fetch to another origin gets no token, and its 401 is not retried', async () => {
  const user = await newUser();
  const elsewhere = 'http://127.0.0.2:1';
  /** @type {Request[]} */
  const sent = [];
  const recorder = recordingFetch();
  /** @type {typeof fetch} */
  const fetchFn = async (input, init) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(elsewhere)) return recorder.fetch(request);
    sent.push(request);
    return new Response('{"message":"Unauthorized"}', { status: 401 });
  };
  const c = await signedInClient(user, { fetch: fetchFn });

  const response = await c.fetch(`${elsewhere}/x`, { headers: { 'X-Test': 'kept' } });
  assert.equal(response.status, 401, 'the answer as it came');
  assert.equal(sent.length, 1);
  assert.equal(sent[0].headers.get('Authorization'), null);
  assert.equal(sent[0].headers.get('X-Test'), 'kept');
  assert.equal(recorder.count('POST /api/auth/refresh'), 0);
  assert.equal((await c.fetch(validateUrl)).status, 200, 'the API still gets the token');

  const signedOut = client({ fetch: fetchFn });
  assert.equal((await signedOut.fetch(`${elsewhere}/x`)).status, 401, 'no sign-in needed elsewhere');
});

test('fetch retries only once: a second 401 is the answer', async () => {
  const user = await newUser();
  const recorder = recordingFetch((request) => {
    if (!request.url.endsWith('/api/auth/validate')) return request;
    const forged = new Request(request);
    forged.headers.set('Authorization', 'Bearer not-a-token');
    return forged;
  });
  const c = await signedInClient(user, { fetch: recorder.fetch });

  const response = await c.fetch(validateUrl);
  assert.equal(response.status, 401);
  assert.equal(recorder.count('POST /api/auth/refresh'), 1);
  assert.equal(recorder.count('GET /api/auth/validate'), 2);
  assert.equal(c.signedIn, true, 'the refresh worked: the session is alive');
});

test('logout holds the refresh lock, and renews a refused token without asking for it again', { timeout: 15_000 }, async () => {
  const user = await newUser();
  const storage = sharedStorage();
  const locks = fakeLocks();
  /** @type {boolean[]} */
  const lockedAtLogout = [];
  let forged = false;
  const recorder = recordingFetch((request) => {
    if (!request.url.endsWith('/api/auth/logout')) return request;
    lockedAtLogout.push(locks.held());
    if (forged) return request;
    // The first logout's token is refused.
    forged = true;
    const garbled = new Request(request);
    garbled.headers.set('Authorization', 'Bearer garbage');
    return garbled;
  });
  await withLocks(locks, async () => {
    const c = await signedInClient(user, { storage, channelName: null, fetch: recorder.fetch });
    // Renewing by asking for the lock logout holds would hang here.
    await c.logout();
    assert.equal(c.signedIn, false);
    assert.equal(await client({ storage, channelName: null }).restore(), false, 'logout cleared the storage');
  });
  assert.deepEqual(recorder.answers, [
    'POST /api/auth/login 200',
    'POST /api/auth/logout 401',
    'POST /api/auth/refresh 200',
    'POST /api/auth/logout 200',
  ]);
  assert.deepEqual(lockedAtLogout, [true, true]);
});

test('restore resumes a stored session, and without one sends nothing', async () => {
  const user = await newUser();
  const empty = recordingFetch();
  assert.equal(await client({ fetch: empty.fetch }).restore(), false);
  assert.deepEqual(empty.calls, []);

  const storage = sharedStorage();
  await signedInClient(user, { storage, channelName: null });
  const later = client({ storage, channelName: null });
  const signedIn = once(later, 'signedin');
  assert.equal(await later.restore(), true);
  await signedIn;
  assert.equal((await later.validate()).id, user.id);

  await later.logout();
  assert.equal(await client({ storage, channelName: null }).restore(), false, 'logout cleared the storage');
});

test('clients sharing storage and a channel share sign-in, tokens and sign-out', async () => {
  const user = await newUser();
  const storage = sharedStorage();
  const channelName = `tokengate-test-${randomBytes(4).toString('hex')}`;
  const recorder = recordingFetch();
  const tabA = client({ storage, channelName });
  const tabB = client({ storage, channelName, fetch: recorder.fetch });
  // The clients' channels do not keep Node alive; waiting on one alone would end the run.
  const keepAlive = setInterval(() => {}, 1000);
  try {
    const bSignedIn = once(tabB, 'signedin');
    await tabA.login(user.id, user.password);
    await bSignedIn;
    assert.equal(tabB.accessToken, tabA.accessToken);

    await tabA.refresh();
    await eventually(() => tabB.accessToken === tabA.accessToken, 'tab B to get the refreshed token');
    assert.equal((await tabB.validate()).id, user.id);
    assert.deepEqual(recorder.calls, ['GET /api/auth/validate'], 'tab B never refreshed');

    const reason = nextSignOut(tabB);
    await tabA.logout();
    assert.equal(await reason, 'other-tab');
    assert.equal(tabB.signedIn, false);
  } finally {
    clearInterval(keepAlive);
    tabA.close();
    tabB.close();
  }
});

test('clients of different APIs do not take each other\'s tokens', async () => {
  const alice = await newUser();
  const bob = await newUser();
  // The same server under another origin: a different API to the client.
  const alias = 'http://tokengate-alias.test';
  const storage = sharedStorage();
  // Default channels: aliceTab shares alice's storage and API, so it follows her.
  const aliceClient = client({ storage });
  const aliceTab = client({ storage });
  const bobClient = client({ baseUrl: alias, fetch: aliasFetch(alias), storage: sharedStorage() });
  const keepAlive = setInterval(() => {}, 1000);
  try {
    const tabSignedIn = once(aliceTab, 'signedin');
    await aliceClient.login(alice.id, alice.password);
    await tabSignedIn;
    await bobClient.login(bob.id, bob.password);
    // Time for a stray message to arrive, were there one.
    await new Promise((resolve) => setTimeout(resolve, 100));

    assert.equal(aliceTab.accessToken, aliceClient.accessToken);
    assert.notEqual(bobClient.accessToken, aliceClient.accessToken);
    assert.equal((await aliceClient.validate()).id, alice.id);
    assert.equal((await aliceTab.validate()).id, alice.id);
    assert.equal((await bobClient.validate()).id, bob.id);
  } finally {
    clearInterval(keepAlive);
    aliceClient.close();
    aliceTab.close();
    bobClient.close();
  }
});

test('a signed-out client ignores another tab\'s refreshed token, not its sign-in', async () => {
  const channelName = `tokengate-test-${randomBytes(4).toString('hex')}`;
  const c = client({ storage: sharedStorage(), channelName });
  const otherTab = new BroadcastChannel(channelName);
  /** @type {(string | null)[]} */
  const signIns = [];
  c.addEventListener('signedin', () => signIns.push(c.accessToken));
  const keepAlive = setInterval(() => {}, 1000);
  try {
    const token = (accessToken, kind) => ({ type: 'token', kind, accessToken, expiresAt: Date.now() + 60_000, expiresIn: 60 });
    // A refresh that raced a sign-out, then a real sign-in (messages arrive in order).
    otherTab.postMessage(token('raced-refresh', 'refresh'));
    const signedIn = once(c, 'signedin');
    otherTab.postMessage(token('signed-in-elsewhere', 'signin'));
    await signedIn;
    assert.deepEqual(signIns, ['signed-in-elsewhere']);
  } finally {
    clearInterval(keepAlive);
    otherTab.close();
    c.close();
  }
});

test('a refresh without an answer in time is a network error', async () => {
  const storage = sharedStorage();
  storage.setItem('tokengate.refreshToken', 'a stored token');
  /** @type {AbortSignal | undefined} */
  let signal;
  const c = client({
    storage,
    channelName: null,
    fetch: async (input, init) => {
      signal = init?.signal ?? undefined;
      // What fetch rejects with when AbortSignal.timeout fires.
      throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    },
  });
  await assert.rejects(c.restore(), { name: 'TokengateError', status: 0, code: 'network' });
  assert.ok(signal instanceof AbortSignal, 'the refresh carries a timeout signal');
  assert.equal(signal.aborted, false);
});

test('a session found ended in one tab signs out the tabs sharing it', async () => {
  const user = await newUser();
  const storage = sharedStorage();
  const channelName = `tokengate-test-${randomBytes(4).toString('hex')}`;
  const tabA = client({ storage, channelName });
  const tabB = client({ storage, channelName });
  const keepAlive = setInterval(() => {}, 1000);
  try {
    const bSignedIn = once(tabB, 'signedin');
    await tabA.login(user.id, user.password);
    await bSignedIn;
    const phone = await signedInClient(user);
    const mine = (await tabA.sessions()).find((s) => s.current);
    await phone.revoke(mine.sessionId);

    const bReason = nextSignOut(tabB);
    await assert.rejects(tabA.validate(), { code: 'session-ended' });
    assert.equal(await bReason, 'session-ended');
    assert.equal(storage.getItem('tokengate.refreshToken'), null, 'the dead refresh token is gone');
  } finally {
    clearInterval(keepAlive);
    tabA.close();
    tabB.close();
  }
});
