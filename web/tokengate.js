/**
 * The tokengate client: sign-in, token refresh and authenticated fetch for
 * browsers and Node 20, in one dependency-free ES module.
 *
 * Two transports for the refresh token:
 * - `cookie` (browsers): the server keeps it in an `HttpOnly` cookie that
 *   script never sees; every auth call sends `Tokengate-Transport: cookie`
 *   with `credentials: 'include'`.
 * - `header` (Node, or a browser calling a cross-site API): the client keeps
 *   it in memory (or in `storage`) and sends it as `Refresh-Token: Bearer …`.
 *
 * The access token lives in memory only, and goes only to the API's origin.
 * Refreshes are single-flight: callers in one tab share one request, and tabs
 * sharing a session (cookie mode, or a shared `storage`) take turns under a Web
 * Lock and pass the new access token to each other over a BroadcastChannel,
 * both named after the API's origin and the transport.
 *
 * @module tokengate
 */

const REFRESH_TOKEN_KEY = 'tokengate.refreshToken';
// How long a tab that queued for the refresh lock waits for the previous
// holder's new token to arrive, before refreshing itself.
const ANNOUNCEMENT_TIMEOUT_MS = 1000;
// A hung refresh must not hold the cross-tab lock (and every tab) forever.
const REFRESH_TIMEOUT_MS = 10_000;

/** @typedef {'cookie' | 'header'} Transport */
/**
 * Why the client signed out: this client's logout or logoutAll; 'session-ended':
 * a refresh was refused (here or in another tab); 'other-tab': another tab
 * sharing the session signed out.
 * @typedef {'logout' | 'logout-all' | 'session-ended' | 'other-tab'} SignOutReason
 */

/**
 * Where header mode keeps the refresh token. Any storage a script can read
 * (`localStorage`, `sessionStorage`) an injected script can read too: one XSS
 * steals a refresh token that works for days, from anywhere. Browser apps on
 * the API's site should use cookie mode, where script never sees it.
 * @typedef {object} TokenStorage
 * @property {(key: string) => string | null} getItem
 * @property {(key: string, value: string) => void} setItem
 * @property {(key: string) => void} removeItem
 */

/**
 * @typedef {object} TokengateOptions
 * @property {string} [baseUrl] the API's origin (and path prefix); '' = this page's origin
 * @property {Transport} [transport] 'cookie' where `document` exists, else 'header'
 * @property {typeof globalThis.fetch} [fetch] the fetch to send requests with
 * @property {() => number} [now] the clock, in milliseconds
 * @property {number} [refreshMargin] seconds before expiry to refresh (at most a third of the lifetime)
 * @property {TokenStorage | null} [storage] header mode: where to keep the refresh token (default: memory)
 * @property {string | null} [channelName] the BroadcastChannel (and Web Lock) of the clients
 *   sharing this session. Default `tokengate:<API origin>:<transport>`; none in header mode
 *   without `storage` (nothing is shared). null: no channel. Clients of one API in header mode
 *   with different storages hold different sessions: give them different names.
 */

/**
 * @typedef {object} User
 * @property {number} seq
 * @property {string} id
 * @property {string} name
 */

/**
 * A signed-in device. Times are Unix seconds.
 * @typedef {object} Session
 * @property {string} sessionId
 * @property {number} createdAt
 * @property {number} refreshedAt
 * @property {number} expiresAt
 * @property {number} lifetimeEndsAt
 * @property {string} userAgent
 * @property {string} sourceIp
 * @property {boolean} current true for the session of this client
 */

/**
 * What happened, in the account's security activity.
 * @typedef {'signed_in' | 'sign_in_failed' | 'refresh_replayed' | 'session_revoked'
 *   | 'password_changed' | 'signed_out' | 'signed_out_everywhere' | 'signed_out_others'
 *   | 'password_reset' | 'email_verified'} ActivityType
 */

/**
 * One security event. `at` is Unix seconds.
 * @typedef {object} ActivityEvent
 * @property {string} id
 * @property {ActivityType} type
 * @property {number} at
 * @property {string | null} sourceIp where the request came from
 * @property {string | null} userAgent
 * @property {boolean} newDevice `signed_in` only: from a device the account had not used lately
 */

/**
 * A page of the account's activity, newest first.
 * @typedef {object} ActivityPage
 * @property {ActivityEvent[]} events possibly fewer than asked for, even with a `nextCursor`
 * @property {string | null} nextCursor the `cursor` of the next (older) page; null on the last one
 */

/**
 * @typedef {object} TokenResponse
 * @property {string} accessToken
 * @property {string} [refreshToken] header mode only
 * @property {number} expiresIn seconds
 */

/**
 * What tabs tell each other.
 * @typedef {{type: 'token', kind: 'signin' | 'refresh', accessToken: string, expiresAt: number, expiresIn: number}
 *   | {type: 'signedout', reason: SignOutReason}} TabMessage
 */

/**
 * A failed call. `code` is the server's `error` code (`invalid_credentials`,
 * `too_many_attempts`, ...), `http_<status>` when the answer had none, or one
 * of the client's own: `network` (no answer: offline, refused, blocked by
 * CORS; status 0), `session-ended` (a refresh was refused, the client signed
 * out; status 401), `signed-out` (no session to call with; status 401).
 */
export class TokengateError extends Error {
  /**
   * @param {string} message
   * @param {{status: number, code: string, retryAfter?: number | null, cause?: unknown}} details
   */
  constructor(message, { status, code, retryAfter = null, cause }) {
    super(message, { cause });
    this.name = 'TokengateError';
    /** @type {number} HTTP status; 0 when no answer came */
    this.status = status;
    /** @type {string} */
    this.code = code;
    /** @type {number | null} seconds to wait, from `Retry-After` */
    this.retryAfter = retryAfter;
  }
}

/**
 * The tokengate client. Dispatches `signedin` and `signedout`
 * (`detail.reason`: {@link SignOutReason}) events.
 */
export class Tokengate extends EventTarget {
  /** @type {string} */ #baseUrl;
  /** @type {string | null} the API's origin, the only one the access token goes to */ #origin;
  /** @type {Transport} */ #transport;
  /** @type {typeof globalThis.fetch} */ #fetch;
  /** @type {() => number} */ #now;
  /** @type {number} */ #refreshMargin;
  /** @type {TokenStorage} */ #storage;
  /** @type {LockManager | null} */ #locks = null;
  /** @type {string} */ #lockName = '';
  /** @type {BroadcastChannel | null} */ #channel = null;
  /** @type {string | null} */ #accessToken = null;
  /** @type {number} ms */ #expiresAt = 0;
  /** @type {number} ms */ #refreshAt = 0;
  /** @type {Promise<void> | null} the refresh in flight, shared by its callers */
  #renewal = null;
  /** @type {(() => void) | null} ends a wait for another tab's message */
  #heardFromTab = null;

  /** @param {TokengateOptions} [options] */
  constructor({
    baseUrl = '',
    transport = typeof document === 'undefined' ? 'header' : 'cookie',
    fetch = globalThis.fetch,
    now = () => Date.now(),
    refreshMargin = 30,
    storage = null,
    channelName,
  } = {}) {
    super();
    if (transport !== 'cookie' && transport !== 'header') {
      throw new TypeError(`transport must be 'cookie' or 'header', not ${String(transport)}`);
    }
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
    this.#origin = originOf(this.#baseUrl);
    this.#transport = transport;
    // Called unbound: the browser's fetch refuses any `this` but the window.
    this.#fetch = (input, init) => fetch(input, init);
    this.#now = now;
    this.#refreshMargin = refreshMargin;
    this.#storage = storage ?? memoryStorage();
    // Tabs share a session only through the cookie jar or a shared storage;
    // with a per-tab session there is nothing to coordinate. Named after the
    // API and transport: a client of another API holds another session.
    if (transport === 'cookie' || storage !== null) {
      const scope = `tokengate:${this.#origin}:${transport}`;
      this.#joinTabs(channelName === undefined ? scope : channelName, scope);
    }
  }

  /** True while the client holds an access token. */
  get signedIn() {
    return this.#accessToken !== null;
  }

  /** The current access token, or null. */
  get accessToken() {
    return this.#accessToken;
  }

  /**
   * Creates an account (does not sign in).
   * @param {{id: string, password: string, name: string}} account
   * @returns {Promise<User>}
   */
  register({ id, password, name }) {
    return this.#call('POST', '/api/auth/register', { body: { id, password, name } });
  }

  /**
   * Signs in: a new session (device). Dispatches `signedin`.
   * @param {string} id
   * @param {string} password
   * @returns {Promise<void>}
   */
  async login(id, password) {
    const tokens = await this.#call('POST', '/api/auth/login', { body: { id, password } });
    this.#adopt(tokens, 'signin');
  }

  /**
   * Resumes the session this browser (cookie mode) or `storage` (header
   * mode) still has, by refreshing it.
   * @returns {Promise<boolean>} false when there is none to resume
   * @throws {TokengateError} when the server could not say (network, no answer
   *   in 10 s, 503, ...)
   */
  async restore() {
    if (this.#transport === 'header' && !this.#storage.getItem(REFRESH_TOKEN_KEY)) return false;
    try {
      await this.#renew(this.#accessToken);
      return true;
    } catch (error) {
      if (isCode(error, 'session-ended')) return false;
      throw error;
    }
  }

  /**
   * Replaces the access token now (shared with any refresh in flight, and
   * skipped if another tab just did it).
   * @returns {Promise<void>}
   * @throws {TokengateError} `session-ended` if the server refused: the client has signed out;
   *   `network` when no answer came (in 10 s)
   */
  refresh() {
    return this.#renew(this.#accessToken);
  }

  /**
   * Ends this device's session. Dispatches `signedout` (reason 'logout').
   * Waits for any refresh in another tab sharing the session: the two never
   * interleave.
   * @returns {Promise<void>}
   */
  logout() {
    return this.#endSession('/api/auth/logout', 'logout');
  }

  /**
   * Ends every session of the user. Dispatches `signedout` (reason 'logout-all').
   * @returns {Promise<void>}
   */
  logoutAll() {
    return this.#endSession('/api/auth/logout-all', 'logout-all');
  }

  /**
   * The user's live sessions, newest first.
   * @returns {Promise<Session[]>}
   */
  async sessions() {
    const { sessions } = await this.#authed('GET', '/api/auth/sessions');
    return sessions;
  }

  /**
   * A page of the account's security activity (sign-ins, wrong passwords,
   * revocations, ...), newest first. Omitted (or null) options are not sent:
   * the server's default `limit` (20), and the first page.
   * @param {{limit?: number | null, cursor?: string | null}} [options]
   *   `limit`: 1 to 100 events; `cursor`: the `nextCursor` of an earlier page
   * @returns {Promise<ActivityPage>}
   * @throws {TokengateError} `invalid_request` (status 400) for a bad `limit` or `cursor`
   */
  activity({ limit, cursor } = {}) {
    const query = new URLSearchParams();
    if (limit !== undefined && limit !== null) query.set('limit', String(limit));
    if (cursor !== undefined && cursor !== null) query.set('cursor', cursor);
    const search = query.toString();
    return this.#authed('GET', search ? `/api/auth/activity?${search}` : '/api/auth/activity');
  }

  /**
   * Ends one session (a lost device).
   * @param {string} sessionId
   * @returns {Promise<void>}
   */
  async revoke(sessionId) {
    await this.#authed('DELETE', `/api/auth/sessions/${encodeURIComponent(sessionId)}`);
  }

  /**
   * Changes the password. This session gets new tokens; every other one ends.
   * @param {string} currentPassword
   * @param {string} newPassword
   * @returns {Promise<void>}
   */
  async changePassword(currentPassword, newPassword) {
    const tokens = await this.#authed('POST', '/api/auth/password', { currentPassword, newPassword });
    this.#adopt(tokens, 'refresh');
  }

  /**
   * Who the access token belongs to.
   * @returns {Promise<User>}
   */
  validate() {
    return this.#authed('GET', '/api/auth/validate');
  }

  /**
   * `fetch` with `Authorization: Bearer <access token>`, refreshed first when
   * it is about to expire. On a 401, or on a 403 with exactly
   * `{"message":"Forbidden"}` (API Gateway's answer for an authorizer's deny),
   * it refreshes once and sends once more.
   * Only for URLs on the API's origin (a relative URL is the page's, as in
   * fetch): any other origin gets a plain fetch, without the token.
   * Resolves with the response whatever its status (the retry's, after a
   * refusal), like fetch.
   * @param {RequestInfo | URL} input
   * @param {RequestInit} [init]
   * @returns {Promise<Response>}
   * @throws {TokengateError} `session-ended` when the refresh was refused (the
   *   client has signed out, dispatching `signedout`); `signed-out` when not
   *   signed in; `network` when no answer came
   */
  async fetch(input, init) {
    const request = new Request(input, init);
    // The token is the API's: another origin must never see it.
    if (new URL(request.url).origin !== this.#origin) return this.#send(request);
    return this.#withToken((token) => {
      // A clone per attempt: the retry needs the body again.
      const attempt = request.clone();
      attempt.headers.set('Authorization', `Bearer ${token}`);
      return this.#send(attempt);
    });
  }

  /** Stops listening to other tabs. */
  close() {
    this.#channel?.close();
    this.#channel = null;
  }

  /**
   * @param {string | null} channelName
   * @param {string} scope the default name, for the lock when there is no channel
   */
  #joinTabs(channelName, scope) {
    this.#locks = globalThis.navigator?.locks ?? null;
    this.#lockName = channelName ?? scope;
    if (channelName === null || typeof BroadcastChannel !== 'function') return;
    const channel = new BroadcastChannel(channelName);
    channel.addEventListener('message', (event) => this.#onTabMessage(event.data));
    // Node: an open channel would keep the process alive.
    /** @type {any} */ (channel).unref?.();
    this.#channel = channel;
  }

  /** @param {TabMessage | undefined} message */
  #onTabMessage(message) {
    if (message?.type === 'signedout') {
      this.#end(message.reason === 'session-ended' ? 'session-ended' : 'other-tab', false);
    } else if (message?.type === 'token' && (message.kind === 'signin' || this.#takesRefresh(message.expiresAt))) {
      this.#setAccessToken(message.accessToken, message.expiresAt, message.expiresIn, message.kind);
    }
    this.#heardFromTab?.();
  }

  /**
   * Whether another tab's refreshed token is news here. Not while signed out
   * (a refresh that raced a sign-out must not sign this tab back in), unless
   * this tab is renewing itself and waits on that refresh.
   * @param {number} expiresAt
   */
  #takesRefresh(expiresAt) {
    return (this.signedIn || this.#renewal !== null) && expiresAt > this.#expiresAt;
  }

  /**
   * Resolves on the next message from another tab, or after `timeoutMs`.
   * @param {number} timeoutMs
   * @returns {Promise<void>}
   */
  #nextTabMessage(timeoutMs) {
    return new Promise((/** @type {(value?: void) => void} */ resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#heardFromTab = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => {
      this.#heardFromTab = null;
    });
  }

  /**
   * Sends with a current access token (renewed first when about to expire);
   * when the token is refused (a 401, or the authorizer's deny) renews once
   * and sends once more.
   * @param {(token: string) => Promise<Response>} send
   * @param {boolean} [locked] the caller holds the refresh lock: renew in place,
   *   as asking for the lock again would wait on ourselves
   * @returns {Promise<Response>}
   */
  async #withToken(send, locked = false) {
    /** @param {string} stale */
    const renew = (stale) => (locked ? this.#renewUnlessDone(stale, false) : this.#renew(stale));
    let token = this.#token();
    if (this.#now() >= this.#refreshAt) {
      await renew(token);
      token = this.#token();
    }
    const response = await send(token);
    if (!(await isRefusedToken(response))) return response;
    await renew(token);
    // Another tab may have signed out meanwhile: never send `Bearer null`.
    return send(this.#token());
  }

  /** @returns {string} the access token; throws `signed-out` when there is none */
  #token() {
    if (this.#accessToken === null) {
      throw new TokengateError('Not signed in', { status: 401, code: 'signed-out' });
    }
    return this.#accessToken;
  }

  /**
   * Replaces the access token `stale`, once however many callers ask.
   * @param {string | null} stale
   * @returns {Promise<void>}
   */
  #renew(stale) {
    this.#renewal ??= this.#exclusive((waited) => this.#renewUnlessDone(stale, waited)).finally(() => {
      this.#renewal = null;
    });
    return this.#renewal;
  }

  /**
   * Runs `task` holding the cross-tab refresh lock, where there is one: two
   * tabs must never present the same refresh token (the server may take a
   * replay for theft and end the session).
   * @param {(waited: boolean) => Promise<void>} task `waited`: another tab held the lock first
   * @returns {Promise<void>}
   */
  async #exclusive(task) {
    const locks = this.#locks;
    if (!locks) return task(false);
    const ran = await locks.request(this.#lockName, { ifAvailable: true }, async (lock) => {
      if (lock) await task(false);
      return lock !== null;
    });
    if (!ran) await locks.request(this.#lockName, () => task(true));
  }

  /**
   * @param {string | null} stale
   * @param {boolean} waited
   */
  async #renewUnlessDone(stale, waited) {
    // The tab that held the lock before us posted its new token before letting
    // go, but the lock can reach us first: the message may still be on its way.
    if (waited && this.#channel && this.#accessToken === stale) {
      await this.#nextTabMessage(ANNOUNCEMENT_TIMEOUT_MS);
    }
    // Another tab refreshed, and told us, while we waited.
    if (this.#accessToken !== stale && this.#now() < this.#refreshAt) return;
    let tokens;
    try {
      const signal = globalThis.AbortSignal?.timeout?.(REFRESH_TIMEOUT_MS);
      tokens = await this.#call('POST', '/api/auth/refresh', { headers: this.#refreshHeaders(), signal });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'TimeoutError') {
        throw new TokengateError('The server did not answer in time', { status: 0, code: 'network', cause: error });
      }
      if (!(error instanceof TokengateError) || error.status !== 401) throw error;
      this.#end('session-ended');
      throw new TokengateError('The session has ended', { status: 401, code: 'session-ended', cause: error });
    }
    this.#adopt(tokens, 'refresh');
  }

  /** @returns {Record<string, string>} the refresh token, in header mode (read now: another tab may have rotated it) */
  #refreshHeaders() {
    const refreshToken = this.#transport === 'header' ? this.#storage.getItem(REFRESH_TOKEN_KEY) : null;
    return refreshToken ? { 'Refresh-Token': `Bearer ${refreshToken}` } : {};
  }

  /**
   * @param {string} path
   * @param {SignOutReason} reason
   */
  async #endSession(path, reason) {
    // Under the refresh lock: a refresh in another tab must not interleave
    // with the sign-out (and then sign the tabs back in).
    await this.#exclusive(async () => {
      try {
        await this.#authed('POST', path, undefined, true);
      } catch (error) {
        // A 401 means the session is over already: only the local sign-out is left.
        if (!(error instanceof TokengateError) || error.status !== 401) throw error;
      }
      this.#end(reason);
    });
  }

  /**
   * @param {TokenResponse} tokens
   * @param {'signin' | 'refresh'} kind
   */
  #adopt({ accessToken, refreshToken, expiresIn }, kind) {
    if (refreshToken) this.#storage.setItem(REFRESH_TOKEN_KEY, refreshToken);
    const expiresAt = this.#now() + expiresIn * 1000;
    this.#setAccessToken(accessToken, expiresAt, expiresIn, kind);
    /** @type {TabMessage} */
    const message = { type: 'token', kind, accessToken, expiresAt, expiresIn };
    this.#channel?.postMessage(message);
  }

  /**
   * @param {string} accessToken
   * @param {number} expiresAt ms
   * @param {number} expiresIn seconds
   * @param {'signin' | 'refresh'} kind
   */
  #setAccessToken(accessToken, expiresAt, expiresIn, kind) {
    const wasSignedIn = this.signedIn;
    this.#accessToken = accessToken;
    this.#expiresAt = expiresAt;
    this.#refreshAt = expiresAt - Math.min(this.#refreshMargin, expiresIn / 3) * 1000;
    // A sign-in may be another user's: listeners reload who is signed in.
    if (!wasSignedIn || kind === 'signin') this.dispatchEvent(new CustomEvent('signedin'));
  }

  /**
   * @param {SignOutReason} reason
   * @param {boolean} [here] false when another tab signed out: the shared storage is that tab's to manage
   */
  #end(reason, here = true) {
    const wasSignedIn = this.signedIn;
    this.#accessToken = null;
    this.#expiresAt = 0;
    this.#refreshAt = 0;
    if (here) this.#storage.removeItem(REFRESH_TOKEN_KEY);
    if (!wasSignedIn) return;
    if (here) this.#channel?.postMessage(/** @type {TabMessage} */ ({ type: 'signedout', reason }));
    this.dispatchEvent(new CustomEvent('signedout', { detail: { reason } }));
  }

  /**
   * An auth API call with the access token (refreshing as `fetch` does).
   * @param {string} method
   * @param {string} path
   * @param {object} [body]
   * @param {boolean} [locked] the caller holds the refresh lock
   * @returns {Promise<any>}
   */
  async #authed(method, path, body, locked = false) {
    const response = await this.#withToken(
      (token) =>
        this.#send(this.#baseUrl + path, this.#init(method, { body, headers: { Authorization: `Bearer ${token}` } })),
      locked,
    );
    return parse(response);
  }

  /**
   * An auth API call without the access token.
   * @param {string} method
   * @param {string} path
   * @param {{body?: object, headers?: Record<string, string>, signal?: AbortSignal}} [options]
   * @returns {Promise<any>}
   */
  async #call(method, path, options) {
    return parse(await this.#send(this.#baseUrl + path, this.#init(method, options)));
  }

  /**
   * @param {string} method
   * @param {{body?: object, headers?: Record<string, string>, signal?: AbortSignal}} [options]
   * @returns {RequestInit}
   */
  #init(method, { body, headers = {}, signal } = {}) {
    const all = new Headers(headers);
    if (body !== undefined) all.set('Content-Type', 'application/json');
    if (this.#transport === 'cookie') all.set('Tokengate-Transport', 'cookie');
    // Header mode keeps cookies out: a refresh cookie left from cookie mode,
    // sent without the transport header, would get the call refused as CSRF.
    const credentials = this.#transport === 'cookie' ? 'include' : 'omit';
    return { method, headers: all, body: JSON.stringify(body), credentials, signal };
  }

  /**
   * @param {RequestInfo | URL} input
   * @param {RequestInit} [init]
   * @returns {Promise<Response>}
   */
  async #send(input, init) {
    try {
      return await this.#fetch(input, init);
    } catch (error) {
      // fetch rejects with a TypeError when no answer came (offline, refused, CORS).
      if (!(error instanceof TypeError)) throw error;
      throw new TokengateError('Could not reach the server', { status: 0, code: 'network', cause: error });
    }
  }
}

/**
 * The JSON body of a successful answer (null for 204), or the answer's error.
 * @param {Response} response
 * @returns {Promise<any>}
 */
async function parse(response) {
  if (response.ok) return response.status === 204 ? null : response.json();
  const body = await response.json().catch(() => ({}));
  const code = typeof body.error === 'string' ? body.error : `http_${response.status}`;
  const message = typeof body.message === 'string' ? body.message : `HTTP ${response.status}`;
  const retryAfter = retryAfterSeconds(response.headers.get('Retry-After'));
  throw new TokengateError(message, { status: response.status, code, retryAfter });
}

/**
 * `Retry-After` in seconds: delta-seconds (what tokengate sends) or an HTTP date.
 * @param {string | null} value
 * @returns {number | null}
 */
function retryAfterSeconds(value) {
  if (value === null) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/**
 * @param {unknown} error
 * @param {string} code
 */
function isCode(error, code) {
  return error instanceof TokengateError && error.code === code;
}

/** @returns {TokenStorage} storage that lasts as long as the client */
function memoryStorage() {
  const items = new Map();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

/**
 * Whether `response` refuses the access token: a 401, or the 403 API Gateway
 * answers itself when the Lambda authorizer denies, exactly
 * `{"message":"Forbidden"}` (tokengate's own 403s carry an `error` code and
 * are final).
 * @param {Response} response
 * @returns {Promise<boolean>}
 */
async function isRefusedToken(response) {
  if (response.status === 401) return true;
  if (response.status !== 403) return false;
  const body = await response.clone().json().catch(() => null);
  return typeof body === 'object' && body !== null && Object.keys(body).length === 1 && body.message === 'Forbidden';
}

/**
 * The origin of the API at `baseUrl`, resolved against the page; null where
 * there is none (a relative `baseUrl` in Node, an opaque origin).
 * @param {string} baseUrl
 * @returns {string | null}
 */
function originOf(baseUrl) {
  try {
    const { origin } = new URL(baseUrl, globalThis.location?.href);
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}
