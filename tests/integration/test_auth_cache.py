# The cache of successful password checks (common/accounts/auth_cache.hpp) in the real
# daemons: pop3d logins and smtpd's AUTH. A remembered login works again; a password
# changed with mailctl, or a deleted user, is refused at once; wrong passwords still fail.
import base64
import poplib
import smtplib

import pytest

from test_pop3 import pop
from test_submission import tls_context

USER = "demo@example.test"
PASSWORD = "demo-secret"
NEW = "another-secret-9"


def pop_login(m, password):
    c = pop(m)
    try:
        c.user(USER)
        c.pass_(password)
    except poplib.error_proto as e:
        c.close()
        return e.args[0]
    c.quit()
    return b"+OK"


def smtp_auth(m, password):
    s = smtplib.SMTP(m.host, m.ports["submission_listen"], local_hostname="laptop.example.net",
                     timeout=60)
    try:
        s.starttls(context=tls_context())
        s.ehlo()
        plain = base64.b64encode(b"\0" + USER.encode() + b"\0" + password.encode()).decode()
        code, _ = s.docmd("AUTH", "PLAIN " + plain)
        return code
    finally:
        s.close()


@pytest.fixture
def m(make_mailbag):
    # relay_networks emptied: AUTH failures from 127/8 would otherwise not count.
    m = make_mailbag(conf={"relay_networks": ""})
    m.start_pop3d()
    return m


def test_pop3d_remembers_a_login_but_not_an_old_password(m):
    assert pop_login(m, PASSWORD) == b"+OK"
    assert pop_login(m, PASSWORD) == b"+OK"  # from the cache
    assert pop_login(m, "wrong").startswith(b"-ERR [AUTH]")
    assert pop_login(m, PASSWORD) == b"+OK"
    m.mailctl("user", "passwd", USER, input=NEW + "\n")
    assert pop_login(m, PASSWORD).startswith(b"-ERR [AUTH]")
    assert pop_login(m, NEW) == b"+OK"
    assert pop_login(m, NEW) == b"+OK"
    m.mailctl("user", "del", USER)
    assert pop_login(m, NEW).startswith(b"-ERR [AUTH]")


def test_smtpd_auth_remembers_a_login_but_not_an_old_password(m):
    assert smtp_auth(m, PASSWORD) == 235
    assert smtp_auth(m, PASSWORD) == 235  # from the cache
    assert smtp_auth(m, "wrong") == 535
    assert smtp_auth(m, PASSWORD) == 235
    m.mailctl("user", "passwd", USER, input=NEW + "\n")
    assert smtp_auth(m, PASSWORD) == 535
    assert smtp_auth(m, NEW) == 235
    assert smtp_auth(m, NEW) == 235
