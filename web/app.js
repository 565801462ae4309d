// The account page: sign up, sign in, your devices, your activity, password, sign out.
// Page state lives in document.body.dataset.state: loading | signed-out | signed-in.

import { Tokengate, TokengateError } from './tokengate.js';

const ui = {
  status: byId('status'),
  error: byId('error'),
  whoami: byId('whoami'),
  devices: byId('devices'),
  activity: byId('activity'),
  activityEmpty: byId('activity-empty'),
  activityMore: /** @type {HTMLButtonElement} */ (byId('activity-more')),
  refreshActivity: /** @type {HTMLButtonElement} */ (byId('refresh-activity')),
  connection: byId('connection'),
  signinForm: /** @type {HTMLFormElement} */ (byId('signin-form')),
  signupForm: /** @type {HTMLFormElement} */ (byId('signup-form')),
  passwordForm: /** @type {HTMLFormElement} */ (byId('password-form')),
  passwordUsername: /** @type {HTMLInputElement} */ (byId('password-username')),
  refreshDevices: /** @type {HTMLButtonElement} */ (byId('refresh-devices')),
  signout: /** @type {HTMLButtonElement} */ (byId('signout')),
  signoutEverywhere: /** @type {HTMLButtonElement} */ (byId('signout-everywhere')),
};

/**
 * What each server rule says, by the field name the API uses.
 * @type {Record<string, string>}
 */
const FIELD_RULES = {
  id: 'User ids are 3 to 64 characters: letters, digits and . _ @ -',
  name: 'Names are 1 to 100 characters.',
  password: 'Passwords are 8 to 128 characters.',
  newPassword: 'Passwords are 8 to 128 characters.',
};

/** @type {Record<string, string>} */
const SIGNED_OUT = {
  logout: 'You are signed out.',
  'logout-all': 'You are signed out on every device.',
  'other-tab': 'You signed out in another tab.',
};

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
// Events a second apart (a sign-in, then a sign-out) are told apart.
const eventDateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

// Events per page of the activity list ("Show more" asks for the next).
const ACTIVITY_PAGE_SIZE = 10;

/**
 * What each kind of event says (a sign-in from a new device says so).
 * @type {Map<string, string>}
 */
const EVENT_WORDS = new Map([
  ['signed_in', 'Signed in'],
  ['sign_in_failed', 'Wrong password entered'],
  ['refresh_replayed', 'Refresh token reused — that session was ended'],
  ['session_revoked', 'Signed out a device'],
  ['password_changed', 'Password changed'],
  ['signed_out', 'Signed out'],
  ['signed_out_everywhere', 'Signed out everywhere'],
  ['signed_out_others', 'Signed out other devices'],
  ['password_reset', 'Password reset by e-mail'],
  ['email_verified', 'E-mail address verified'],
]);
// Worth a second look: someone may have the password or a stolen token.
const ALARMING = new Set(['sign_in_failed', 'refresh_replayed']);

// Longer user agents (of unknown browsers) are cut to this many characters.
const MAX_AGENT_CHARS = 60;

/** @type {[string, RegExp][]} */
const BROWSERS = [
  ['Edge', /Edg(A|iOS)?\//],
  ['Opera', /OPR\//],
  ['Firefox', /Firefox\/|FxiOS\//],
  ['Chrome', /Chrome\/|CriOS\//],
  ['Safari', /Safari\//],
];
// Android and iOS agents also name Linux and Mac OS X: they come first.
/** @type {[string, RegExp][]} */
const SYSTEMS = [
  ['Android', /Android/],
  ['iOS', /iPhone|iPad|iPod/],
  ['ChromeOS', /CrOS/],
  ['Windows', /Windows/],
  ['macOS', /Macintosh/],
  ['Linux', /Linux/],
];

// Where `?api=` is honoured (see localApi); declared before pageOptions runs.
const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * The activity list: where its next page starts (null: no more), and which
 * load it shows (a reload makes a pending "Show more" stale).
 * @type {{cursor: string | null, generation: number}}
 */
const activity = { cursor: null, generation: 0 };

const { options, connection } = pageOptions();
const client = new Tokengate(options);
// For browser tests and the console.
Object.assign(window, { tokengate: client });

client.addEventListener('signedin', showAccount);
client.addEventListener('signedout', (event) => showSignedOut(event.detail.reason));

onSubmit(ui.signinForm, async ({ id, password }) => {
  await client.login(id, password);
  ui.signinForm.reset();
  showStatus('You are signed in.');
});

onSubmit(ui.signupForm, async ({ id, name, password }) => {
  await client.register({ id, name, password });
  await client.login(id, password);
  ui.signupForm.reset();
  showStatus('Your account is ready and you are signed in.');
});

onSubmit(ui.passwordForm, async ({ currentPassword, newPassword }) => {
  await client.changePassword(currentPassword, newPassword);
  ui.passwordForm.reset();
  await Promise.all([loadDevices(), loadActivity()]);
  showStatus('Password changed. Your other devices were signed out.');
});

onClick(ui.refreshDevices, async () => {
  await loadDevices();
  showStatus('Device list updated.');
});
onClick(ui.refreshActivity, async () => {
  await loadActivity();
  showStatus('Activity updated.');
});
onClick(ui.activityMore, loadMoreActivity);
onClick(ui.signout, () => client.logout());
onClick(ui.signoutEverywhere, () => client.logoutAll());

ui.devices.addEventListener('click', (event) => {
  const button = /** @type {Element} */ (event.target).closest('button.revoke');
  const device = button?.closest('li.device');
  if (!button || !(device instanceof HTMLElement)) return;
  run(/** @type {HTMLButtonElement} */ (button), async () => {
    await client.revoke(/** @type {string} */ (device.dataset.sessionId));
    await Promise.all([loadDevices(), loadActivity()]);
    showStatus('That device was signed out.');
  });
});

ui.connection.textContent = connection;
start();

async function start() {
  try {
    // Signed in: the `signedin` event shows the account.
    if (!(await client.restore())) setState('signed-out');
  } catch (error) {
    setState('signed-out');
    showError(error);
  }
}

/**
 * `?api=` for local development only: a link must not be able to point the
 * page (and the passwords typed into it) at somebody else's server, so both
 * the page and the API must be on a loopback host; elsewhere it is ignored.
 * A deployed page names its API in the tokengate-api meta.
 * @param {string | null} api
 * @returns {string | null}
 */
function localApi(api) {
  if (!api || !LOOPBACK.includes(location.hostname)) return null;
  try {
    return LOOPBACK.includes(new URL(api).hostname) ? api : null;
  } catch {
    return null;
  }
}

/**
 * The client's options from ?api= (else the tokengate-api meta) and ?transport=header.
 * @returns {{options: import('./tokengate.js').TokengateOptions, connection: string}}
 */
function pageOptions() {
  const params = new URLSearchParams(location.search);
  const meta = document.querySelector('meta[name="tokengate-api"]');
  const baseUrl = localApi(params.get('api')) ?? meta?.getAttribute('content') ?? '';
  const transport = params.get('transport') === 'header' ? 'header' : 'cookie';
  const origin = baseUrl ? new URL(baseUrl, location.href).origin : location.origin;
  const kept = transport === 'cookie' ? 'in an HttpOnly cookie' : 'in this tab only (reloading signs you out)';
  return { options: { baseUrl, transport }, connection: `API: ${origin}. Session kept ${kept}.` };
}

async function showAccount() {
  // Each part shows what it could load; the first failure is reported.
  const [user, ...lists] = await Promise.allSettled([client.validate(), loadDevices(), loadActivity()]);
  if (user.status === 'fulfilled') {
    ui.whoami.replaceChildren('Signed in as ', element('strong', {}, user.value.name), ` (${user.value.id})`);
    ui.passwordUsername.value = user.value.id;
  }
  const failed = [user, ...lists].find((result) => result.status === 'rejected');
  if (failed) showError(failed.reason);
  // A sign-out may have come while loading.
  if (client.signedIn) setState('signed-in');
}

/** @param {import('./tokengate.js').SignOutReason} reason */
function showSignedOut(reason) {
  setState('signed-out');
  ui.whoami.replaceChildren();
  ui.devices.replaceChildren();
  clearActivity();
  ui.passwordForm.reset();
  if (reason === 'session-ended') {
    showError(new TokengateError('session ended', { status: 401, code: 'session-ended' }));
  } else {
    showStatus(SIGNED_OUT[reason]);
  }
}

async function loadDevices() {
  const sessions = await client.sessions();
  ui.devices.replaceChildren(...sessions.map(deviceItem));
}

/** @param {import('./tokengate.js').Session} session */
function deviceItem(session) {
  const name = describeAgent(session.userAgent);
  const item = element('li', { className: session.current ? 'device this-device' : 'device' });
  item.dataset.sessionId = session.sessionId;
  const title = element('p', { className: 'device-name' }, name);
  if (session.current) title.append(' ', element('span', { className: 'badge' }, 'this device'));
  item.append(
    title,
    element('p', { className: 'device-agent', title: session.userAgent }, session.userAgent || 'No user agent'),
    element(
      'dl',
      { className: 'device-facts' },
      ...fact('Address', session.sourceIp || 'unknown'),
      ...fact('Signed in', time(session.createdAt)),
      ...fact('Last active', time(session.refreshedAt)),
    ),
  );
  if (!session.current) {
    const revoke = element('button', { type: 'button', className: 'revoke danger' }, 'Revoke');
    revoke.setAttribute('aria-label', `Revoke ${name}, last active ${formatTime(session.refreshedAt)}`);
    item.append(revoke);
  }
  return item;
}

/** Shows the first page of the activity list (again). */
async function loadActivity() {
  const generation = ++activity.generation;
  const page = await client.activity({ limit: ACTIVITY_PAGE_SIZE });
  // A later load (or a sign-out) came first: this page is stale.
  if (generation !== activity.generation) return;
  ui.activity.replaceChildren(...page.events.map(eventItem));
  showActivityPage(page);
}

/** Adds the next, older page to the activity list. */
async function loadMoreActivity() {
  const { cursor, generation } = activity;
  if (cursor === null) return;
  const page = await client.activity({ limit: ACTIVITY_PAGE_SIZE, cursor });
  if (generation !== activity.generation) return;
  ui.activity.append(...page.events.map(eventItem));
  showActivityPage(page);
}

/** @param {import('./tokengate.js').ActivityPage} page the page just shown */
function showActivityPage(page) {
  activity.cursor = page.nextCursor;
  ui.activityMore.hidden = page.nextCursor === null;
  ui.activityEmpty.hidden = page.nextCursor !== null || ui.activity.childElementCount > 0;
}

function clearActivity() {
  activity.generation += 1;
  activity.cursor = null;
  ui.activity.replaceChildren();
  ui.activityMore.hidden = true;
  ui.activityEmpty.hidden = true;
}

/** @param {import('./tokengate.js').ActivityEvent} event */
function eventItem(event) {
  const item = element('li', { className: ALARMING.has(event.type) ? 'event alarming' : 'event' });
  item.dataset.type = event.type;
  if (event.newDevice) item.dataset.newDevice = 'true';
  const agent = event.userAgent ?? '';
  item.append(
    element('p', { className: 'event-what' }, eventWords(event)),
    element(
      'dl',
      { className: 'event-facts' },
      ...fact('When', time(event.at, eventDateFormat)),
      ...fact('Address', event.sourceIp || 'unknown'),
      ...fact('Browser', element('span', { className: 'event-agent', title: agent }, shortAgent(agent))),
    ),
  );
  return item;
}

/**
 * What happened, in words.
 * @param {import('./tokengate.js').ActivityEvent} event
 */
function eventWords(event) {
  if (event.type === 'signed_in' && event.newDevice) return 'Signed in from a new device';
  return EVENT_WORDS.get(event.type) ?? String(event.type);
}

/** "Chrome on Linux", or the start of an agent the page does not know. */
function shortAgent(userAgent = '') {
  if (!userAgent) return 'unknown';
  const name = describeAgent(userAgent);
  return name.length > MAX_AGENT_CHARS ? `${name.slice(0, MAX_AGENT_CHARS - 1)}…` : name;
}

/**
 * @param {string} term
 * @param {string | Node} value
 */
function fact(term, value) {
  return [element('dt', {}, term), element('dd', {}, value)];
}

/**
 * @param {number} seconds Unix time
 * @param {Intl.DateTimeFormat} [format]
 */
function formatTime(seconds, format = dateFormat) {
  return format.format(new Date(seconds * 1000));
}

/**
 * @param {number} seconds Unix time
 * @param {Intl.DateTimeFormat} [format]
 */
function time(seconds, format = dateFormat) {
  return element('time', { dateTime: new Date(seconds * 1000).toISOString() }, formatTime(seconds, format));
}

/** "Firefox on Linux" from a user agent, or the agent itself when unknown. */
function describeAgent(userAgent = '') {
  const browser = BROWSERS.find(([, pattern]) => pattern.test(userAgent))?.[0];
  const system = SYSTEMS.find(([, pattern]) => pattern.test(userAgent))?.[0];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? (userAgent || 'Unknown device');
}

/** @param {'loading' | 'signed-out' | 'signed-in'} state */
function setState(state) {
  document.body.dataset.state = state;
}

/** @param {string} text */
function showStatus(text) {
  ui.error.textContent = '';
  delete ui.error.dataset.code;
  ui.status.textContent = text;
}

/** @param {unknown} error */
function showError(error) {
  ui.status.textContent = '';
  ui.error.dataset.code = error instanceof TokengateError ? error.code : 'unexpected';
  ui.error.textContent = errorMessage(error);
}

/**
 * What a person reads for a failed call.
 * @param {unknown} error
 */
function errorMessage(error) {
  if (!(error instanceof TokengateError)) return `Something went wrong: ${String(error)}`;
  switch (error.code) {
    case 'invalid_credentials':
      return 'Wrong user id or password.';
    case 'too_many_attempts':
      return `Too many attempts. Try again ${inSeconds(error.retryAfter)}.`;
    case 'service_unavailable':
      return `The service is unavailable right now. Try again ${inSeconds(error.retryAfter)}.`;
    case 'session-ended':
      return 'You were signed out: this session ended on another device.';
    case 'signed-out':
      return 'You are signed out. Sign in again.';
    case 'network':
      return 'Could not reach the server.';
    case 'user_exists':
      return 'That user id is taken. Choose another one.';
    case 'invalid_current_password':
      return 'Your current password is not right.';
    case 'invalid_request':
      return fieldRule(error.message);
    case 'csrf_rejected':
      return 'The server does not accept requests from this page (its origin is not allowed).';
    default:
      return error.message;
  }
}

/** @param {number | null} seconds */
function inSeconds(seconds) {
  if (seconds === null) return 'later';
  return `in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}`;
}

/**
 * The rule of the field a 400 names ("`password` must be ..."), else the server's words.
 * @param {string} message
 */
function fieldRule(message) {
  const field = /^`([^`]+)`/.exec(message)?.[1];
  return (field && FIELD_RULES[field]) || message;
}

/**
 * Submits `form`'s fields (by name) to `action`, once they pass the form's own rules.
 * @param {HTMLFormElement} form
 * @param {(fields: Record<string, string>) => Promise<void>} action
 */
function onSubmit(form, action) {
  form.addEventListener('input', (event) => {
    /** @type {Element} */ (event.target).removeAttribute('aria-invalid');
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const invalid = firstInvalid(form);
    if (invalid) {
      reportInvalid(invalid);
      return;
    }
    const fields = /** @type {Record<string, string>} */ (Object.fromEntries(new FormData(form)));
    run(/** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]')), () => action(fields));
  });
}

/** @param {HTMLFormElement} form */
function firstInvalid(form) {
  const inputs = [...form.elements].filter((field) => field instanceof HTMLInputElement);
  return /** @type {HTMLInputElement[]} */ (inputs).find((field) => field.willValidate && !field.validity.valid);
}

/**
 * Says what is wrong with `field`, the way the server would.
 * @param {HTMLInputElement} field
 */
function reportInvalid(field) {
  field.setAttribute('aria-invalid', 'true');
  field.focus();
  const label = field.labels?.[0]?.textContent ?? field.name;
  const rule = FIELD_RULES[field.name];
  const text = field.validity.valueMissing || !rule ? `Fill in “${label}”.` : rule;
  showError(new TokengateError(text, { status: 400, code: 'invalid_request' }));
}

/**
 * @param {HTMLButtonElement} button
 * @param {() => Promise<unknown>} action
 */
function onClick(button, action) {
  button.addEventListener('click', () => run(button, action));
}

/**
 * Runs `action` with `button` disabled, showing any failure.
 * @param {HTMLButtonElement} button
 * @param {() => Promise<unknown>} action
 */
async function run(button, action) {
  button.disabled = true;
  try {
    await action();
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Partial<HTMLElementTagNameMap[K]>} properties
 * @param {...(string | Node)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
function element(tag, properties, ...children) {
  const node = Object.assign(document.createElement(tag), properties);
  node.append(...children);
  return node;
}

/** @param {string} id */
function byId(id) {
  return /** @type {HTMLElement} */ (document.getElementById(id));
}
