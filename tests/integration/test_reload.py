# SIGHUP reloads mailbag.conf in every daemon (common/config/reload.hpp, mailbag.conf(5)
# RELOADING): under load (200 messages over parallel SMTP sessions, POP3 sessions open)
# no session drops and no message is lost; a changed message_size_limit and a new relay
# network count for new sessions while a session already open keeps its own; a key that
# needs a restart keeps its old value; a broken file changes nothing and kills nothing.
import os
import poplib
import signal
import ssl
import threading
import time

import harness
from messages import make_message

USER = "demo@example.test"
PASSWORD = "demo-secret"
EXTRA = ("pop3d", "pop3-mailbox", "remote", "checks", "dkim")


def set_conf(m, **changes):
    """Rewrites m's configuration file with `changes` (key -> value) applied."""
    conf = dict(m.conf)
    conf.update(changes)
    with open(m.conf_path, "w") as f:
        for k, v in conf.items():
            f.write("%s = %s\n" % (k, v))
    m.conf = conf


def hup_all(m):
    for name, p in m.procs.items():
        if p.poll() is None:
            p.send_signal(signal.SIGHUP)


def size_of(ehlo_text):
    for line in ehlo_text.decode().splitlines():
        if line.startswith("SIZE "):
            return int(line.split()[1])
    return None


def start_all(m):
    m.start_pop3d()
    for name in ("remote", "dkim"):
        m.start_daemon(name)
    if not m.alive("checks"):
        m.start_daemon("checks")


POP_USERS = [("pop%d@example.test" % i, "pop-secret-%d" % i) for i in range(3)]


def pop_login(m, user, password):
    c = poplib.POP3(m.host, m.ports["pop3_listen"], timeout=30)
    ctx = ssl.create_default_context(cafile=os.path.join(m.dir, "cert.pem"))
    ctx.check_hostname = False
    c.stls(ctx)
    c.user(user)
    c.pass_(password)
    return c


def test_reload_under_load_loses_nothing(make_mailbag):
    mb = make_mailbag(users=[(USER, PASSWORD)] + POP_USERS)
    start_all(mb)
    pops = [pop_login(mb, u, p) for u, p in POP_USERS]  # one session per mailbox (RFC 1939 8)
    errors, replies = [], []
    lock = threading.Lock()
    started = threading.Barrier(5)

    def sender(k):
        try:
            s = mb.smtp()
            s.ehlo()
            started.wait(timeout=30)
            for i in range(50):
                _, data = make_message("reload%d" % k, i)
                r = mb.send(USER, data, conn=s)
                with lock:
                    replies.append(r.code)
            s.quit()
        except Exception as e:  # a dropped session fails the test
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    started.wait(timeout=30)
    for n in range(5):  # several reloads while the sessions run
        set_conf(mb, smtpd_max_recipients=str(100 + n))
        hup_all(mb)
        for c in pops:
            c.noop()
        time.sleep(0.2)
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert replies == [250] * 200
    for c in pops:
        c.stat()
        c.quit()
    mb.wait_for_messages(USER, 200, timeout=60)
    for name in ("smtpd", "pop3d", "queue-manager", "local", "remote", "checks", "dkim",
                 "mailbag-auth", "mailbag-tlskey", "pop3-mailbox"):
        assert mb.alive(name), name
        mb.wait_for_log(name, r"reload: .* read, \d+ changed keys applied")
    mb.wait_for_log("smtpd", r"reload: smtpd_max_recipients = 104")


def test_changed_keys_take_effect_for_new_sessions(make_mailbag):
    mb = make_mailbag(conf={"relay_networks": "127.0.0.1/32"})
    assert size_of(mb.smtp().ehlo()[1]) == 1 << 20
    client = harness.unique_loopback()
    old = mb.smtp()  # opened before the reload: keeps its limit
    old.ehlo()
    outsider = mb.smtp_from(client)
    code, _ = outsider.mail("someone@example.net")
    assert code == 250
    code, _ = outsider.rcpt("far@elsewhere.example")
    assert code == 554  # relay denied: not in relay_networks yet
    outsider.rset()

    set_conf(mb, message_size_limit="2M", relay_networks="127.0.0.1/32, %s/32" % client,
             hostname="other.example.test")
    hup_all(mb)  # the queue manager's own size check follows message_size_limit too
    mb.wait_for_log("smtpd", r"reload: message_size_limit = 2097152")
    mb.wait_for_log("queue-manager", r"reload: message_size_limit = 2097152")
    mb.wait_for_log("smtpd", r"reload: hostname changed but needs a restart")

    new = mb.smtp()
    code, text = new.ehlo()
    assert size_of(text) == 2 << 20
    assert text.decode().startswith("mail.example.test")  # hostname kept until a restart
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 1500  # ~1.5 MB
    assert mb.send(USER, big, conn=new).code == 250
    assert mb.send(USER, big, conn=old).code == 552  # RFC 1870 6.1: its own limit
    # The relay network counts for the client's next connection (RFC 5321 3.6.2).
    again = mb.smtp_from(client)
    assert again.mail("someone@example.net")[0] == 250
    assert again.rcpt("far@elsewhere.example")[0] == 250
    again.rset()
    for s in (old, new, outsider, again):
        s.quit()
    assert mb.alive("smtpd")


def test_broken_file_keeps_running_config(mb):
    set_conf(mb, message_size_limit="lots")
    hup_all(mb)
    mb.wait_for_log("smtpd", r"reload: .*mailbag.conf:\d+: message_size_limit: .*the running configuration stays")
    mb.wait_for_log("queue-manager", r"the running configuration stays")
    os.unlink(mb.conf_path)  # gone entirely
    hup_all(mb)
    time.sleep(0.3)
    for name in harness.DAEMONS:
        if name in mb.procs:
            assert mb.alive(name), name
    s = mb.smtp()
    assert size_of(s.ehlo()[1]) == 1 << 20
    s.quit()
    _, data = make_message("after-bad-reload", 0)
    assert mb.send(USER, data).code == 250
    mb.wait_for_messages(USER, 1)
