"""The account page and the JS client in headless Chromium: cookie mode,
several tabs and devices, CORS and the CSRF defence, as a person (or an
attacker's page) would meet them."""

import json
import os
import secrets
import subprocess
import time
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ACCESS_TTL_SECS, ROOT, shot

PASSWORD = "correct horse battery"


def new_user(api, name="Ada"):
    """A user registered over the API (the page's own sign-up is tested once)."""
    user_id = f"user-{secrets.token_hex(4)}"
    body = json.dumps({"id": user_id, "password": PASSWORD, "name": name}).encode()
    request = urllib.request.Request(
        f"{api}/api/auth/register", body, {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 201
    return user_id


def state(driver):
    return driver.execute_script("return document.body.dataset.state")


def wait_for(driver, condition, timeout=20):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: condition(d))


def wait_state(driver, wanted, timeout=20):
    wait_for(driver, lambda d: state(d) == wanted, timeout)


def open_page(driver, url):
    driver.get(url)
    wait_for(driver, lambda d: state(d) in ("signed-in", "signed-out"))


def fill(driver, fields):
    for selector, value in fields.items():
        element = driver.find_element(By.CSS_SELECTOR, selector)
        element.clear()
        element.send_keys(value)


def submit(driver, form):
    """Submits `form` once its button is enabled (the page disables it while
    a call is in flight)."""
    button = driver.find_element(By.CSS_SELECTOR, f"{form} [type=submit]")
    wait_for(driver, lambda d: button.is_enabled())
    button.click()


def sign_in(driver, user_id, password=PASSWORD):
    fill(driver, {"#signin-id": user_id, "#signin-password": password})
    submit(driver, "#signin-form")


def signed_in(driver, page, user_id):
    """Opens `page` and signs `user_id` in there."""
    open_page(driver, page)
    sign_in(driver, user_id)
    wait_state(driver, "signed-in")


def error_code(driver):
    return driver.find_element(By.ID, "error").get_attribute("data-code") or ""


def wait_error(driver, code, timeout=20):
    wait_for(driver, lambda d: error_code(d) == code, timeout)
    return driver.find_element(By.ID, "error").text


def devices(driver):
    """The device list: (session id, is this device), once it is shown."""
    # Read in one script: the page re-renders the list as it reloads it.
    return [
        tuple(pair)
        for pair in driver.execute_script(
            "return [...document.querySelectorAll('#devices li.device')]"
            ".map((li) => [li.dataset.sessionId, li.classList.contains('this-device')])"
        )
    ]


def wait_devices(driver, count):
    wait_for(driver, lambda d: len(devices(d)) == count)
    return devices(driver)


def activity(driver):
    """The activity list, newest first: (type, what it says, its facts)."""
    # Read in one script, as for the devices.
    return [
        tuple(item)
        for item in driver.execute_script(
            "return [...document.querySelectorAll('#activity li.event')].map((li) => ["
            "li.dataset.type, li.querySelector('.event-what').textContent,"
            "li.querySelector('.event-facts').textContent])"
        )
    ]


def wait_activity(driver, first):
    """The activity list, once its newest event says `first`."""
    wait_for(driver, lambda d: [what for _, what, _ in activity(d)][:1] == [first])
    return activity(driver)


def call(driver, script):
    """Runs `script` (an async function body with `tg`, the page's client)
    and returns its result, or {'error': code} if it threw."""
    return driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const tg = window.tokengate;
        (async () => { %s })().then(done, (e) => done({ error: e.code || String(e) }));
        """
        % script
    )


def refresh_requests(driver):
    return driver.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter((e) => e.name.endsWith('/api/auth/refresh')).length"
    )


def test_sign_up_sign_in_and_stay_signed_in_across_reloads(api, device):
    browser = device()
    open_page(browser, f"{api}/")
    assert state(browser) == "signed-out"
    user_id = f"new-{secrets.token_hex(4)}"
    fill(browser, {"#signup-id": user_id, "#signup-name": "Grace", "#signup-password": PASSWORD})
    submit(browser, "#signup-form")
    # Signing up signs in.
    wait_state(browser, "signed-in")
    assert "Grace" in browser.find_element(By.ID, "whoami").text
    (session, this_device), = wait_devices(browser, 1)
    assert this_device
    shot(browser, "01-signed-in")

    # The refresh token is in an HttpOnly cookie: no script can read it, and
    # nothing of the session is kept in storage.
    assert browser.execute_script("return document.cookie") == ""
    assert browser.execute_script("return localStorage.length + sessionStorage.length") == 0

    # A reload loses the access token (memory only); the cookie brings it back.
    browser.refresh()
    wait_state(browser, "signed-in")
    assert wait_devices(browser, 1) == [(session, True)]
    assert refresh_requests(browser) >= 1


def test_activity_shows_sign_ins_wrong_passwords_and_revoked_devices(api, device):
    laptop = device()
    open_page(laptop, f"{api}/")
    user_id = f"act-{secrets.token_hex(4)}"
    fill(laptop, {"#signup-id": user_id, "#signup-name": "Hedy", "#signup-password": PASSWORD})
    submit(laptop, "#signup-form")
    wait_state(laptop, "signed-in")
    # The account's first sign-in: a device it has never seen.
    (kind, what, facts), = wait_activity(laptop, "Signed in from a new device")
    assert kind == "signed_in"
    assert "127.0.0.1" in facts and "Chrome" in facts, facts
    assert not laptop.find_element(By.ID, "activity-more").is_displayed()

    # A wrong password on another device, then the right one there.
    phone = device()
    open_page(phone, f"{api}/")
    sign_in(phone, user_id, "not the password")
    wait_error(phone, "invalid_credentials")
    laptop.find_element(By.ID, "refresh-activity").click()
    listed = wait_activity(laptop, "Wrong password entered")
    assert [kind for kind, _, _ in listed] == ["sign_in_failed", "signed_in"]
    sign_in(phone, user_id)
    wait_state(phone, "signed-in")

    # Revoking the phone reloads the list.
    laptop.find_element(By.ID, "refresh-devices").click()
    (phone_session,) = [sid for sid, this in wait_devices(laptop, 2) if not this]
    laptop.find_element(
        By.CSS_SELECTOR, f'li.device[data-session-id="{phone_session}"] button.revoke'
    ).click()
    listed = wait_activity(laptop, "Signed out a device")
    # The phone's browser is the laptop's (one user agent): no new device.
    assert [what for _, what, _ in listed] == [
        "Signed out a device",
        "Signed in",
        "Wrong password entered",
        "Signed in from a new device",
    ]
    assert [kind for kind, _, _ in listed][0] == "session_revoked"
    assert not laptop.find_element(By.ID, "activity-more").is_displayed()
    shot(laptop, "10-activity")


def test_wrong_password_then_throttled_with_the_wait_time(api, device):
    browser = device()
    user_id = new_user(api)
    open_page(browser, f"{api}/")
    sign_in(browser, user_id, "not the password")
    message = wait_error(browser, "invalid_credentials")
    assert "Wrong user id or password" in message
    # LOGIN_MAX_FAILURES is 5 per account: the next failures are throttled.
    for _ in range(5):
        sign_in(browser, user_id, "still not the password")
    message = wait_error(browser, "too_many_attempts")
    assert "Try again in" in message and "second" in message, message
    shot(browser, "02-throttled")


def test_two_tabs_refresh_at_the_same_moment_and_both_stay_signed_in(api, device):
    browser = device()
    user_id = new_user(api)
    signed_in(browser, f"{api}/", user_id)
    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    open_page(browser, f"{api}/")
    assert state(browser) == "signed-in"
    second = browser.current_window_handle

    # Both tabs refresh at one instant. The server has no reuse grace here:
    # had both sent the same cookie, the second would be a replay and the
    # session would end. The tabs hold one Web Lock; the one that waited
    # takes the token the other broadcast.
    before = 0
    for handle in (first, second):
        browser.switch_to.window(handle)
        before += refresh_requests(browser)
    at = int(time.time() * 1000) + 1500
    for handle in (first, second):
        browser.switch_to.window(handle)
        browser.execute_script(
            """
            window.refreshResult = null;
            setTimeout(() => window.tokengate.refresh().then(
                () => { window.refreshResult = 'ok'; },
                (e) => { window.refreshResult = e.code || String(e); }),
              arguments[0] - Date.now());
            """,
            at,
        )
    for handle in (first, second):
        browser.switch_to.window(handle)
        wait_for(browser, lambda d: d.execute_script("return window.refreshResult") is not None)
        assert browser.execute_script("return window.refreshResult") == "ok"
    # One tab refreshed; the other took its token.
    after = 0
    for handle in (first, second):
        browser.switch_to.window(handle)
        after += refresh_requests(browser)
    assert after - before == 1
    for handle in (first, second):
        browser.switch_to.window(handle)
        assert call(browser, "return (await tg.validate()).id") == user_id
        assert len(call(browser, "return await tg.sessions()")) == 1
    shot(browser, "03-two-tabs")

    # Signing out in one tab signs the other out too.
    browser.switch_to.window(first)
    browser.find_element(By.ID, "signout").click()
    wait_state(browser, "signed-out")
    browser.switch_to.window(second)
    wait_state(browser, "signed-out")


def test_ten_parallel_calls_refresh_once(api, device):
    browser = device()
    user_id = new_user(api)
    signed_in(browser, f"{api}/", user_id)
    wait_devices(browser, 1)
    # Past the point where the client refreshes before expiry.
    time.sleep(ACCESS_TTL_SECS * 2 / 3 + 0.5)
    before = refresh_requests(browser)
    statuses = call(
        browser,
        """
        const calls = Array.from({ length: 10 }, () => tg.fetch("/api/todos"));
        return (await Promise.all(calls)).map((r) => r.status);
        """,
    )
    assert statuses == [200] * 10, statuses
    assert refresh_requests(browser) - before == 1


def test_revoking_a_device_signs_it_out_on_its_next_call(api, device):
    user_id = new_user(api)
    laptop, phone = device(), device()
    for browser in (laptop, phone):
        signed_in(browser, f"{api}/", user_id)
    laptop.find_element(By.ID, "refresh-devices").click()
    listed = wait_devices(laptop, 2)
    (phone_session,) = [sid for sid, this in listed if not this]
    laptop.find_element(
        By.CSS_SELECTOR, f'li.device[data-session-id="{phone_session}"] button.revoke'
    ).click()
    wait_devices(laptop, 1)
    shot(laptop, "04-revoked-the-phone")

    phone.find_element(By.ID, "refresh-devices").click()
    wait_state(phone, "signed-out")
    assert "another device" in wait_error(phone, "session-ended")
    shot(phone, "05-phone-signed-out")
    # And it stays out: its cookie was refused and cleared.
    phone.refresh()
    wait_state(phone, "signed-out")
    laptop.find_element(By.ID, "refresh-devices").click()
    assert wait_devices(laptop, 1)[0][1]


def test_sign_out_here_and_everywhere(api, device):
    user_id = new_user(api)
    laptop, phone, tablet = device(), device(), device()
    for browser in (laptop, phone, tablet):
        signed_in(browser, f"{api}/", user_id)

    tablet.find_element(By.ID, "signout").click()
    wait_state(tablet, "signed-out")
    tablet.refresh()
    wait_state(tablet, "signed-out")
    laptop.find_element(By.ID, "refresh-devices").click()
    wait_devices(laptop, 2)

    laptop.find_element(By.ID, "signout-everywhere").click()
    wait_state(laptop, "signed-out")
    phone.find_element(By.ID, "refresh-devices").click()
    wait_state(phone, "signed-out")
    wait_error(phone, "session-ended")
    shot(laptop, "06-signed-out-everywhere")


def test_password_change_keeps_this_device_and_ends_the_others(api, device):
    user_id = new_user(api)
    laptop, phone = device(), device()
    for browser in (laptop, phone):
        signed_in(browser, f"{api}/", user_id)
    new_password = "a brand new passphrase"
    fill(laptop, {"#current-password": PASSWORD, "#new-password": new_password})
    submit(laptop, "#password-form")
    wait_for(laptop, lambda d: "assword" in d.find_element(By.ID, "status").text)
    laptop.refresh()
    wait_state(laptop, "signed-in")
    phone.find_element(By.ID, "refresh-devices").click()
    wait_state(phone, "signed-out")
    sign_in(phone, user_id, new_password)
    wait_state(phone, "signed-in")


def test_an_allowed_origin_of_the_same_site_works(api, origin_b, device):
    browser = device()
    user_id = new_user(api)
    signed_in(browser, f"{origin_b}/?api={api}", user_id)
    wait_devices(browser, 1)
    browser.refresh()
    wait_state(browser, "signed-in")
    shot(browser, "07-allowed-origin")


def test_an_origin_not_allowed_is_blocked_by_cors(api, origin_c, device):
    browser = device()
    user_id = new_user(api)
    open_page(browser, f"{origin_c}/?api={api}")
    sign_in(browser, user_id)
    wait_error(browser, "network")
    assert state(browser) == "signed-out"
    console = " ".join(entry["message"] for entry in browser.get_log("browser"))
    assert "CORS policy" in console, console
    shot(browser, "08-origin-blocked")


def test_a_cross_site_form_post_is_refused_and_changes_nothing(api, origin_c, device):
    browser = device()
    user_id = new_user(api)
    signed_in(browser, f"{api}/", user_id)
    (session, _), = wait_devices(browser, 1)
    # Any refresh ends this access token's validity (it names the session's
    # generation): if it still works at the end, nothing was refreshed.
    access = browser.execute_script("return window.tokengate.accessToken")

    # The forging page is on the same site (127.0.0.1), so SameSite=Strict
    # lets the cookie through: the server's own check must refuse it.
    # Refresh is authenticated by the cookie: refused as cross-site. Logout
    # needs the access token, which no other page has.
    for route, code in [
        ("refresh", "csrf_rejected"),
        ("logout", "missing_token"),
        ("logout-all", "missing_token"),
    ]:
        browser.get(f"{origin_c}/forge.html?mode=form&target={api}/api/auth/{route}")
        wait_for(browser, lambda d: code in d.find_element(By.TAG_NAME, "body").text)
        assert json.loads(browser.find_element(By.TAG_NAME, "body").text)["error"] == code
    shot(browser, "09-forged-form-refused")
    # A no-cors fetch from there gets an opaque answer; the server refused it.
    browser.get(f"{origin_c}/forge.html?mode=fetch&target={api}/api/auth/refresh")
    wait_for(browser, lambda d: d.find_element(By.ID, "result").text == "sent")

    request = urllib.request.Request(
        f"{api}/api/auth/validate", headers={"authorization": f"Bearer {access}"}
    )
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["id"] == user_id
    open_page(browser, f"{api}/")
    assert state(browser) == "signed-in"
    assert wait_devices(browser, 1) == [(session, True)]


def test_the_js_client_under_node(api):
    """The client's own tests, header mode, against the same server."""
    result = subprocess.run(
        ["node", "--test", str(ROOT / "tests" / "web")],
        env={**os.environ, "TOKENGATE_URL": api},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
