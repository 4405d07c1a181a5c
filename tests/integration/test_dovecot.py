# Interoperability with Dovecot (Debian's dovecot-imapd and dovecot-pop3d), the mail store
# that reads our Maildirs as they are (mailbag(7)): a private Dovecot, from its own
# configuration in a temporary directory (never /etc/dovecot), on a 127.x address, with
# the Maildir++ quota backend (quota = maildir) over the same maildirsize, sees the same
# messages as Mailbag and the same quota usage; room made on one side (our pop3d, or
# Dovecot's IMAP EXPUNGE) is seen by the other.
import grp
import imaplib
import os
import poplib
import pwd
import re
import ssl
import subprocess
import tempfile

import pytest

import harness
from peer_process import PeerProcess
from mailbox_support import maildir_usage, maildirsize, sized_message
from messages import make_message

DOVECOT = "/usr/sbin/dovecot"
DEMO = "demo@example.test"
PASSWORD = "demo-secret"
QUOTA = 1 << 20  # 1 MiB: "1M" for both mailctl and Dovecot's quota_rule

pytestmark = [
    pytest.mark.skipif(not os.path.exists(DOVECOT), reason="dovecot not installed"),
    pytest.mark.skipif(not harness.is_root(), reason="dovecot reads the Maildirs as mb-vmail (needs root)"),
]


class Dovecot(PeerProcess):
    """A private Dovecot serving IMAP and POP3 for the users given as {address: (password,
    maildir path)}, mail processes as mb-vmail:mb-mail, quota = maildir with a 1 MiB rule."""
    REMOVE_DIR = True

    def __init__(self, ip, users):
        self.dir = tempfile.mkdtemp(prefix="mb-dovecot-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.ip = ip
        self.imap_port = harness.free_port(ip)
        self.pop3_port = harness.free_port(ip)
        self.users = users
        self.proc = None

    def start(self):
        for d in ("run", "state"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        uid = pwd.getpwnam("mb-vmail").pw_uid
        gid = grp.getgrnam("mb-mail").gr_gid
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            for user, (password, home) in self.users.items():
                f.write("%s:{PLAIN}%s:%d:%d::%s::\n" % (user, password, uid, gid, home))
        conf = os.path.join(self.dir, "dovecot.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "base_dir = %s/run" % self.dir,
                "state_dir = %s/state" % self.dir,
                "log_path = %s/dovecot.log" % self.dir,
                "protocols = imap pop3",
                "listen = %s" % self.ip,
                "ssl = no",
                "disable_plaintext_auth = no",
                "auth_mechanisms = plain login",
                "default_internal_user = dovecot",
                "default_login_user = dovenull",
                "mail_location = maildir:~",
                "mail_plugins = quota",
                "protocol imap {",
                "  mail_plugins = $mail_plugins imap_quota",
                "}",
                "passdb {",
                "  driver = passwd-file",
                "  args = scheme=PLAIN username_format=%%u %s/passwd" % self.dir,
                "}",
                "userdb {",
                "  driver = passwd-file",
                "  args = username_format=%%u %s/passwd" % self.dir,
                "}",
                "plugin {",
                "  quota = maildir:User quota",
                "  quota_rule = *:storage=1M",
                "}",
                "service imap-login {",
                "  inet_listener imap {",
                "    port = %d" % self.imap_port,
                "  }",
                "  inet_listener imaps {",
                "    port = 0",
                "  }",
                "}",
                "service pop3-login {",
                "  inet_listener pop3 {",
                "    port = %d" % self.pop3_port,
                "  }",
                "  inet_listener pop3s {",
                "    port = 0",
                "  }",
                "}",
            ]) + "\n")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        for _ in harness.deadline_loop(20, "dovecot's IMAP greeting"):
            if self.proc.poll() is not None:
                raise RuntimeError("dovecot exited: %s %s" % (self.proc.stderr.read(), self.log()))
            try:
                c = imaplib.IMAP4(self.ip, self.imap_port, timeout=5)
                c.logout()
                return self
            except OSError:
                pass

    def quota(self, user):
        """(bytes, messages) Dovecot counts for `user`'s quota (doveadm quota get)."""
        r = subprocess.run(["doveadm", "-c", os.path.join(self.dir, "dovecot.conf"), "quota", "get", "-u", user],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        got = {}
        for line in r.stdout.splitlines()[1:]:
            f = line.split()
            # Quota name, Type, Value, Limit, %: "User quota STORAGE 207 1024 20"
            got[f[-4]] = int(f[-3])
        return got["STORAGE"], got["MESSAGE"]

    def imap(self, user, password):
        c = imaplib.IMAP4(self.ip, self.imap_port, timeout=30)
        c.login(user, password)
        return c

    def pop3(self, user, password):
        c = poplib.POP3(self.ip, self.pop3_port, timeout=30)
        c.user(user)
        c.pass_(password)
        return c


@pytest.fixture
def dovecot(request):
    started = []

    def start(ip, users):
        d = Dovecot(ip, users).start()
        started.append(d)
        return d

    yield start
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for d in started:
        if failed:
            print("\n--- dovecot log (%s) ---\n%s" % (d.dir, d.log()[-6000:]))
        d.stop()


def our_pop3(m):
    ctx = ssl.create_default_context(cafile=os.path.join(m.dir, "cert.pem"))
    ctx.check_hostname = False
    c = poplib.POP3(m.host, m.ports["pop3_listen"], timeout=30)
    c.stls(ctx)
    c.user(DEMO)
    c.pass_(PASSWORD)
    return c


def imap_messages(c):
    """{Message-ID: body bytes without our trace fields' line ends changed} of INBOX."""
    typ, data = c.select("INBOX")
    assert typ == "OK", data
    n = int(data[0])
    out = {}
    if n == 0:
        return out
    typ, data = c.fetch("1:%d" % n, "(BODY.PEEK[])")
    assert typ == "OK", data
    for item in data:
        if isinstance(item, tuple):
            raw = item[1]
            mid = re.search(rb"\r\nMessage-ID: (<[^>]+>)", raw, re.I).group(1).decode()
            out[mid] = raw
    return out


def kib(n):
    """Bytes as Dovecot reports STORAGE: KiB, rounded up."""
    return (n + 1023) // 1024


def storage(c):
    """(used KiB, limit KiB) of the STORAGE resource of INBOX's quota root (RFC 2087)."""
    typ, data = c.getquotaroot("INBOX")
    assert typ == "OK", data
    text = b" ".join(x for x in data[1] if isinstance(x, bytes)).decode()
    m = re.search(r"STORAGE (\d+) (\d+)", text)
    assert m, data
    return int(m.group(1)), int(m.group(2))


def test_dovecot_sees_our_messages_and_our_quota_usage(make_mailbag, dovecot):
    m = make_mailbag(users=((DEMO, PASSWORD),))
    m.start_pop3d()
    m.mailctl("user", "set", DEMO, "quota=1M")
    sent = {}
    for n in range(4):
        mid, msg = make_message("dovecot", n)
        assert m.send(DEMO, msg).code == 250
        sent[mid] = msg
    mid, msg = sized_message("dovecot-big", 200000)
    assert m.send(DEMO, msg).code == 250
    sent[mid] = msg
    for mid in sent:
        m.find_message(DEMO, mid)
    m.wait_queue_empty()
    definition, used, count = maildirsize(m, DEMO)
    assert definition == "%dS" % QUOTA and count == 5
    assert (used, count) == maildir_usage(m, DEMO)

    dc = dovecot(m.host, {DEMO: (PASSWORD, m.maildir(DEMO))})
    c = dc.imap(DEMO, PASSWORD)
    msgs = imap_messages(c)
    assert set(msgs) == set(sent)
    stored = {harness.message_id(d): d for d in m.read_messages(DEMO).values()}
    for mid, raw in msgs.items():
        # IMAP gives the stored file (our trace fields included) with CRLF line ends.
        assert raw == stored[mid].replace(b"\n", b"\r\n"), mid
        harness.added_prefix(stored[mid], sent[mid])
    assert storage(c) == (kib(used), QUOTA // 1024)
    assert dc.quota(DEMO) == (kib(used), 5)
    c.logout()

    # Dovecot's POP3 and ours list the same sizes (RFC 1939 octets, CRLF counted).
    p = dc.pop3(DEMO, PASSWORD)
    theirs = sorted(int(x.split()[1]) for x in p.list()[1])
    p.quit()
    p = our_pop3(m)
    listing = [tuple(int(v) for v in x.split()) for x in p.list()[1]]
    ours = sorted(size for _, size in listing)
    assert ours == theirs and len(ours) == 5

    # Room made with our POP3 (pop3d writes "-size -1"): Dovecot sees it. A small
    # message goes (the big one is for the IMAP step below; POP3 numbers follow the
    # Maildir's order, not the order of sending).
    p.dele(min(listing, key=lambda e: e[1])[0])
    p.quit()
    _, used2, count2 = maildirsize(m, DEMO)
    assert count2 == 4 and (used2, count2) == maildir_usage(m, DEMO)
    c = dc.imap(DEMO, PASSWORD)
    assert len(imap_messages(c)) == 4
    assert storage(c) == (kib(used2), QUOTA // 1024)
    assert dc.quota(DEMO) == (kib(used2), 4)

    # Room made with Dovecot's IMAP (it appends to maildirsize): we see it.
    big = [i for i, (mid, raw) in enumerate(imap_messages(c).items()) if mid == "<dovecot-big@test.example.net>"]
    typ, data = c.search(None, 'HEADER Message-ID "<dovecot-big@test.example.net>"')
    assert typ == "OK" and data[0], (typ, data)
    c.store(data[0].split()[0], "+FLAGS", "\\Deleted")
    c.expunge()
    c.logout()
    assert big
    _, used3, count3 = maildirsize(m, DEMO)
    assert count3 == 3 and (used3, count3) == maildir_usage(m, DEMO)
    out = m.mailctl("user", "show", DEMO).stdout
    assert re.search(r"usage .*\(%d bytes\) in 3 message\(s\)" % used3, out) or \
        re.search(r"usage .* %d bytes in 3 message\(s\)" % used3, out), out
    p = our_pop3(m)
    assert p.stat()[0] == 3
    p.quit()

    # New mail after Dovecot's changes still keeps both in step.
    mid, msg = make_message("dovecot", 9)
    assert m.send(DEMO, msg).code == 250
    m.find_message(DEMO, mid)
    m.wait_queue_empty()  # the verdict, and so the maildirsize line, is in
    _, used4, count4 = maildirsize(m, DEMO)
    assert (used4, count4) == maildir_usage(m, DEMO)
    c = dc.imap(DEMO, PASSWORD)
    assert storage(c) == (kib(used4), QUOTA // 1024)
    assert dc.quota(DEMO) == (kib(used4), 4)
    assert len(imap_messages(c)) == 4
    c.logout()
