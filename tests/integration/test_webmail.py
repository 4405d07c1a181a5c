# Webmail in a real browser: Roundcube set up by `mailctl roundcube config`, logging in
# through Dovecot (set up by `mailctl dovecot config`, so Mailbag's passwords) and sending
# through Mailbag's submission port with the user's own login. One headless Chromium
# session driven by Selenium logs in as a Mailbag user, opens the message SMTP delivered,
# composes and sends a message to another user; the message lands in that user's Maildir
# from the sender's address with a Received header of authenticated submission (ESMTPSA,
# RFC 3848). A screenshot of the inbox is kept with the test output: BUILD/test-output/
# (make test's build directory; pytest's workers do not show what a passing test prints).
import os
import shutil

import pytest

import harness
from harness import header_values
from imap_support import DOVECOT, Dovecot
from messages import make_message
from test_submission import received_with
from webmail_support import ROUNDCUBE_INDEX, Roundcube

CHROMEDRIVER = "/usr/bin/chromedriver"
USER = "demo@example.test"
PASSWORD = "demo-secret"
OTHER = "other@example.test"

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = None

pytestmark = [
    pytest.mark.skipif(webdriver is None, reason="python3-selenium not installed"),
    pytest.mark.skipif(not os.path.exists(CHROMEDRIVER), reason="chromium-driver not installed"),
    pytest.mark.skipif(not os.path.exists(ROUNDCUBE_INDEX), reason="roundcube-core not installed"),
    pytest.mark.skipif(not os.path.exists(DOVECOT), reason="dovecot-imapd not installed"),
    pytest.mark.skipif(not harness.is_root(), reason="Dovecot and PHP switch users (needs root)"),
]


@pytest.fixture
def webmail(request, make_mailbag, tmp_path):
    m = make_mailbag(users=((USER, PASSWORD), (OTHER, "other-secret")))
    peers = []
    try:
        d = Dovecot(m).start()
        peers.append(d)
        rc = Roundcube(m, d).start()
        peers.append(rc)
        yield m, rc
    finally:
        failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
        for p in reversed(peers):
            if failed:
                print("\n--- %s log ---\n%s" % (type(p).__name__, p.log()[-6000:]))
            p.stop()


@pytest.fixture
def browser(tmp_path):
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1280,900", "--user-data-dir=" + str(tmp_path / "chromium")):
        opts.add_argument(a)
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    b = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    yield b
    b.quit()


def test_roundcube_reads_smtp_mail_and_sends_through_submission(webmail, browser):
    m, rc = webmail
    mid, msg = make_message("webmail", 1)
    assert m.send(USER, msg).code == 250
    m.find_message(USER, mid)
    wait = WebDriverWait(browser, 30)

    browser.get(rc.url)
    wait.until(EC.visibility_of_element_located((By.ID, "rcmloginuser"))).send_keys(USER)
    browser.find_element(By.ID, "rcmloginpwd").send_keys(PASSWORD)
    browser.find_element(By.ID, "rcmloginsubmit").click()

    # The inbox lists the message SMTP delivered.
    row = wait.until(EC.visibility_of_element_located(
        (By.XPATH, "//table[@id='messagelist']//tr[contains(., 'test webmail 1')]")))
    out = os.path.join(harness.build_dir(), "test-output")
    os.makedirs(out, exist_ok=True)
    shot = os.path.join(out, "roundcube-inbox.png")
    assert browser.save_screenshot(shot)
    print("\nscreenshot of the inbox: " + shot)

    # Opened (double-click: the full view), it shows the body Mailbag stored.
    ActionChains(browser).double_click(row).perform()
    wait.until(EC.text_to_be_present_in_element((By.ID, "messagebody"), "Message 1 of webmail."))

    # Compose to the other user and send: through submission with the user's login.
    browser.get(rc.url + "?_task=mail&_action=compose")
    to = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#compose_to .recipient-input input")))
    to.send_keys(OTHER + ", ")
    browser.find_element(By.ID, "compose-subject").send_keys("sent from webmail")
    browser.find_element(By.ID, "composebody").send_keys("Hello from Roundcube.")
    send = [e for e in browser.find_elements(By.CSS_SELECTOR, ".send") if e.is_displayed()]
    assert send, "no visible Send button"
    send[0].click()

    for _ in harness.deadline_loop(30, "the webmail message in %s's Maildir" % OTHER):
        got = [d for d in m.read_messages(OTHER).values() if b"sent from webmail" in d]
        if got:
            break
        m.check_alive()
    data = got[0]
    assert USER in header_values(data, "From")[0], data[:600]
    assert "Hello from Roundcube." in data.decode(errors="replace")
    assert received_with(data) == "ESMTPSA", header_values(data, "Received")
    assert "authenticated as %s" % USER in m.logs("smtpd")
