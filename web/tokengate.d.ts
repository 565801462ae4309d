// The public API of tokengate.js.

export type Transport = 'cookie' | 'header';

/**
 * Why the client signed out: this client's logout or logoutAll; 'session-ended':
 * a refresh was refused (here or in another tab); 'other-tab': another tab
 * sharing the session signed out.
 */
export type SignOutReason = 'logout' | 'logout-all' | 'session-ended' | 'other-tab';

/**
 * Where header mode keeps the refresh token. Any storage a script can read
 * (`localStorage`, `sessionStorage`) an injected script can read too: one XSS
 * steals a refresh token that works for days, from anywhere. Browser apps on
 * the API's site should use cookie mode, where script never sees it.
 */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface TokengateOptions {
  /** The API's origin (and path prefix); '' (default) = this page's origin. The access token goes to this origin only. */
  baseUrl?: string;
  /** Default: 'cookie' where `document` exists, else 'header'. */
  transport?: Transport;
  /** The fetch to send requests with (default: globalThis.fetch). */
  fetch?: typeof globalThis.fetch;
  /** The clock in milliseconds (default: Date.now). */
  now?: () => number;
  /** Seconds before expiry to refresh, at most a third of the token's lifetime (default 30). */
  refreshMargin?: number;
  /**
   * Header mode: where to keep the refresh token (default: memory only).
   * Clients that share it share the session, and coordinate over `channelName`.
   */
  storage?: TokenStorage | null;
  /**
   * The BroadcastChannel (and Web Lock) of the clients sharing this session.
   * Default `tokengate:<API origin>:<transport>` (the origin of `baseUrl`, or
   * the page's for ''), so clients of different APIs never take each other's
   * tokens; none in header mode without `storage` (nothing is shared).
   * null: no channel. Clients of one API in header mode with different
   * storages hold different sessions: give them different names.
   */
  channelName?: string | null;
}

export interface User {
  seq: number;
  id: string;
  name: string;
}

/** A signed-in device. Times are Unix seconds. */
export interface Session {
  sessionId: string;
  createdAt: number;
  refreshedAt: number;
  expiresAt: number;
  lifetimeEndsAt: number;
  userAgent: string;
  sourceIp: string;
  /** True for the session of this client. */
  current: boolean;
}

/** What happened, in the account's security activity. */
export type ActivityType =
  | 'signed_in'
  | 'sign_in_failed'
  | 'refresh_replayed'
  | 'session_revoked'
  | 'password_changed'
  | 'signed_out'
  | 'signed_out_everywhere'
  | 'signed_out_others'
  | 'password_reset'
  | 'email_verified';

/** One security event. `at` is Unix seconds. */
export interface ActivityEvent {
  id: string;
  type: ActivityType;
  at: number;
  /** Where the request came from. */
  sourceIp: string | null;
  userAgent: string | null;
  /** `signed_in` only: from a device the account had not used lately (not among its last 10). */
  newDevice: boolean;
}

/** A page of the account's activity, newest first. */
export interface ActivityPage {
  /** Possibly fewer than asked for, even with a `nextCursor`. */
  events: ActivityEvent[];
  /** The `cursor` of the next (older) page; null on the last one. */
  nextCursor: string | null;
}

export interface ActivityOptions {
  /** Events per page, 1 to 100 (server default 20). Not sent when omitted or null. */
  limit?: number | null;
  /** The `nextCursor` of an earlier page. Not sent when omitted or null (the first page). */
  cursor?: string | null;
}

/**
 * A failed call. `code`: the server's `error` code, `http_<status>` when the
 * answer had none, or the client's own `network` (status 0), `session-ended`
 * (a refresh was refused and the client signed out; 401) or `signed-out`
 * (not signed in; 401).
 */
export class TokengateError extends Error {
  constructor(message: string, details: { status: number; code: string; retryAfter?: number | null; cause?: unknown });
  readonly name: 'TokengateError';
  /** HTTP status; 0 when no answer came (network, CORS). */
  status: number;
  code: string;
  /** Seconds to wait, from `Retry-After`; null without one. */
  retryAfter: number | null;
}

export interface TokengateEventMap {
  signedin: CustomEvent<null>;
  signedout: CustomEvent<{ reason: SignOutReason }>;
}

export class Tokengate extends EventTarget {
  constructor(options?: TokengateOptions);

  /** True while the client holds an access token. */
  readonly signedIn: boolean;
  /** The current access token (memory only), or null. */
  readonly accessToken: string | null;

  /** Creates an account; does not sign in. */
  register(account: { id: string; password: string; name: string }): Promise<User>;
  /** Signs in (a new session); dispatches `signedin`. */
  login(id: string, password: string): Promise<void>;
  /**
   * Resumes the browser's (cookie) or storage's (header) session; false when there is none.
   * Rejects when the server could not say (code `network`, also after 10 s without an answer; 503, ...).
   */
  restore(): Promise<boolean>;
  /**
   * Refreshes now; rejects with code `session-ended` (and signs out) when refused,
   * `network` when no answer came (a refresh gives up after 10 s).
   */
  refresh(): Promise<void>;
  /**
   * Ends this session; dispatches `signedout` with reason 'logout'. Takes the
   * cross-tab refresh lock: a refresh in another tab never interleaves.
   */
  logout(): Promise<void>;
  /** Ends every session of the user; dispatches `signedout` with reason 'logout-all'. Takes the lock as logout does. */
  logoutAll(): Promise<void>;
  /** The user's live sessions, newest first. */
  sessions(): Promise<Session[]>;
  /**
   * A page of the account's security activity, newest first. Rejects with
   * code `invalid_request` (status 400) for a bad `limit` or `cursor`.
   */
  activity(options?: ActivityOptions): Promise<ActivityPage>;
  /** Ends one session. */
  revoke(sessionId: string): Promise<void>;
  /** New tokens for this session; every other session ends. */
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  /** Who is signed in. */
  validate(): Promise<User>;
  /**
   * fetch with the access token, refreshed before expiry. A 401, or a 403
   * whose body is exactly `{"message":"Forbidden"}` (API Gateway's answer for
   * a Lambda authorizer's deny), is refreshed and retried once; tokengate's
   * own 403s carry an `error` code and are final. Resolves with the (last)
   * response whatever its status; rejects with code `session-ended` when the
   * refresh was refused (the client signed out), `signed-out` when not signed
   * in (or signed out by another tab before the retry), `network` on no answer.
   *
   * Only URLs on the API's origin (that of `baseUrl`; a relative URL is the
   * page's, as in fetch) get the token: any other origin gets a plain fetch,
   * without it and without a refresh or retry.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Stops listening to other tabs. */
  close(): void;

  addEventListener<K extends keyof TokengateEventMap>(
    type: K,
    listener: (this: Tokengate, event: TokengateEventMap[K]) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof TokengateEventMap>(
    type: K,
    listener: (this: Tokengate, event: TokengateEventMap[K]) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}
