# IMAP through Dovecot, set up by `mailctl dovecot config`, with Mailbag's passwords
# (mailbag-checkpassword asking the authentication daemon): imaplib and fetchmail log in
# over STARTTLS; a message delivered by SMTP reads byte-exact, moves to Junk (the folder
# Mailbag's filtering uses), is deleted and expunged, and Mailbag's POP3 and the Maildir
# agree at each step; one Maildir++ quota holds for IMAP APPEND and Mailbag's delivery; a
# password change, a disabled and a deleted account count at the next login; failures
# are held back and blocked per client as for POP3; an IMAP login grants relay like a
# POP3 login (pop_before_smtp) until relay_lifetime; the passdb program refuses odd
# names, and only it may ask the daemon about IMAP logins.
import os
import poplib
import re
import subprocess
import time

import pytest

import harness
from imap_support import DOVECOT, Dovecot, tls_context
from ipc_wire import RawPeer, frame, s, u64
from mailbox_support import maildir_usage, maildirsize, sized_message
from messages import make_message
from test_relay import rcpt_codes
from test_submission import source_ip

USER = "demo@example.test"
PASSWORD = "demo-secret"
OTHER = "other@example.test"

pytestmark = [
    pytest.mark.skipif(not os.path.exists(DOVECOT), reason="dovecot-imapd not installed"),
    pytest.mark.skipif(not harness.is_root(), reason="Dovecot switches to mb-vmail and mb-imapauth (needs root)"),
]


@pytest.fixture
def imap(request, make_mailbag):
    started = []

    def start(**conf):
        c = {"relay_networks": ""}
        c.update(conf)
        m = make_mailbag(users=((USER, PASSWORD), (OTHER, "other-secret")), conf=c)
        m.start_pop3d()
        d = Dovecot(m).start()
        started.append(d)
        return m, d

    yield start
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for d in started:
        if failed:
            print("\n--- dovecot log (%s) ---\n%s" % (d.dir, d.log()[-6000:]))
        d.stop()


def our_pop3(m, user=USER, password=PASSWORD):
    c = poplib.POP3(m.host, m.ports["pop3_listen"], timeout=30)
    c.stls(tls_context(m))
    c.user(user)
    c.pass_(password)
    return c


def login_fails(d, user, password, source=None):
    c = d.connect(source)
    try:
        c.login(user, password)
    except c.error as e:
        return str(e)
    finally:
        try:
            c.logout()
        except Exception:
            pass
    return None


def folder_files(m, folder=""):
    base = m.maildir(USER) + ("/." + folder if folder else "")
    return sorted(os.listdir(base + "/new") + os.listdir(base + "/cur"))


def test_read_move_to_junk_delete_expunge_and_pop3_agrees(imap):
    m, d = imap()
    mid, msg = make_message("imap", 1)
    assert m.send(USER, msg).code == 250
    m.find_message(USER, mid)
    stored = list(m.read_messages(USER).values())[0]

    c = d.login(USER, PASSWORD)
    typ, boxes = c.list()
    assert typ == "OK"
    listed = {b.decode().rsplit(" ", 1)[1].strip('"'): b.decode() for b in boxes}
    for name, flag in (("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"), ("Junk", "\\Junk")):
        assert name in listed and flag in listed[name], boxes
    assert "INBOX" in listed
    typ, data = c.select("INBOX")
    assert typ == "OK" and int(data[0]) == 1
    typ, data = c.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK"
    # Byte-exact: the stored file (our trace fields on top of what was sent), CRLF.
    assert data[0][1] == stored.replace(b"\n", b"\r\n")
    harness.added_prefix(stored, msg)

    # Mailbag's POP3 sees the same message, the same bytes.
    p = our_pop3(m)
    assert p.stat()[0] == 1
    assert b"\r\n".join(p.retr(1)[1]) + b"\r\n" == stored.replace(b"\n", b"\r\n")
    p.quit()

    # MOVE (RFC 6851) into Junk: the file goes to the Maildir++ folder .Junk, where
    # Mailbag's filtering files junk; the inbox and POP3 are empty.
    typ, data = c._simple_command("MOVE", "1", "Junk")
    assert typ == "OK", data
    assert folder_files(m) == [] and len(folder_files(m, "Junk")) == 1
    p = our_pop3(m)
    assert p.stat()[0] == 0
    p.quit()
    typ, data = c.select("Junk")
    assert typ == "OK" and int(data[0]) == 1
    typ, data = c.fetch("1", "(BODY.PEEK[])")
    assert data[0][1] == stored.replace(b"\n", b"\r\n")
    c.store("1", "+FLAGS", "\\Deleted")
    assert len(folder_files(m, "Junk")) == 1  # deleted is only a flag until EXPUNGE
    typ, data = c.expunge()
    assert typ == "OK"
    assert folder_files(m, "Junk") == []
    c.logout()
    assert maildir_usage(m, USER) == (0, 0)


def test_one_quota_for_imap_append_and_delivery(imap):
    m, d = imap()
    m.mailctl("user", "set", USER, "quota=100K")
    mid, msg = sized_message("quota-first", 20000)
    assert m.send(USER, msg).code == 250
    m.find_message(USER, mid)
    m.wait_queue_empty()
    definition, used, count = maildirsize(m, USER)
    assert definition == "102400S" and (used, count) == maildir_usage(m, USER)

    c = d.login(USER, PASSWORD)
    typ, data = c.getquotaroot("INBOX")
    assert typ == "OK" and b"STORAGE" in b" ".join(x for x in data[1] if isinstance(x, bytes)), data
    refused = None
    for n in range(10):
        _, big = sized_message("append-%d" % n, 20000)
        typ, data = c.append("INBOX", None, None, big)
        if typ != "OK":
            refused = data
            break
    assert refused is not None and b"OVERQUOTA" in refused[0], refused
    c.logout()
    # Dovecot counted its appends in the same maildirsize that Mailbag's delivery reads.
    _, used2, count2 = maildirsize(m, USER)
    assert (used2, count2) == maildir_usage(m, USER)
    assert used2 > used and used2 <= 102400 and count2 == count + n
    # And Mailbag's delivery sees the mailbox as full: the next message does not land.
    mid, msg = sized_message("quota-last", 20000)
    r = m.send(USER, msg)
    if r.code == 250:
        time.sleep(3)
    assert len(m.maildir_messages(USER)) == count2
    assert maildirsize(m, USER)[1:] == (used2, count2)


def test_password_change_disable_delete_take_effect_at_once(imap):
    m, d = imap()
    d.login(USER, PASSWORD).logout()
    # Any spelling the authentication daemon accepts reaches the canonical account.
    c = d.login("Demo@Example.TEST", PASSWORD)
    assert c.select("INBOX")[0] == "OK"
    c.logout()
    m.mailctl("user", "passwd", USER, input="a-new-secret\n")
    assert login_fails(d, USER, PASSWORD)
    d.login(USER, "a-new-secret").logout()
    m.mailctl("user", "set", OTHER, "disabled=yes")
    assert login_fails(d, OTHER, "other-secret")
    m.mailctl("user", "set", OTHER, "disabled=no")
    d.login(OTHER, "other-secret").logout()
    m.mailctl("user", "del", OTHER)
    assert login_fails(d, OTHER, "other-secret")
    assert login_fails(d, "nobody@example.test", "whatever")
    # Names Dovecot would read specially never reach the daemon as such.
    assert login_fails(d, "de%mo@example.test", "a-new-secret")
    assert "a-new-secret" not in m.logs("mailbag-auth") and "a-new-secret" not in d.log()


def test_wrong_passwords_are_slowed_and_blocked_per_client(imap):
    m, d = imap(pop3d_auth_failure_limit="3", pop3d_auth_block_time="10m")
    bad, good = source_ip(m, 70), source_ip(m, 71)
    times = []
    for _ in range(3):
        t = time.monotonic()
        assert login_fails(d, USER, "wrong", source=bad)
        times.append(time.monotonic() - t)
    # Held like POP3's failures: at least a second, then growing.
    assert min(times) >= 0.9 and times[2] >= times[0] + 0.5, times
    # Past the limit the client is refused even with the right password; others are not.
    assert login_fails(d, USER, PASSWORD, source=bad)
    d.login(USER, PASSWORD, source=good).logout()
    m.wait_for_log("mailbag-auth", "imap login refused: too many failures from %s" % bad)


def test_imap_login_grants_relay_until_relay_lifetime(imap):
    m, d = imap(pop_before_smtp="yes", relay_lifetime="4s")
    ip, other = source_ip(m, 80), source_ip(m, 81)
    assert rcpt_codes(m, ["victim@far.example"], source=ip)[0][0] == 554
    d.login(USER, PASSWORD, source=ip).logout()
    listed = subprocess.run([harness.bin_path("relayctl"), "-c", m.conf_path, "list", "0"],
                            capture_output=True, text=True, timeout=30)
    assert listed.returncode == 0 and re.search(r"^%s\t\d+$" % re.escape(ip), listed.stdout, re.M), listed
    assert rcpt_codes(m, ["victim@far.example"], source=ip)[0][0] == 250
    assert rcpt_codes(m, ["victim@far.example"], source=other)[0][0] == 554
    # A failed login grants nothing.
    assert login_fails(d, USER, "wrong", source=other)
    assert rcpt_codes(m, ["victim@far.example"], source=other)[0][0] == 554
    time.sleep(5)
    assert rcpt_codes(m, ["victim@far.example"], source=ip)[0][0] == 554


def test_fetchmail_over_imap_starttls(imap, tmp_path):
    m, d = imap()
    mid, msg = make_message("imap-fetchmail", 1)
    assert m.send(USER, msg).code == 250
    m.find_message(USER, mid)
    out = tmp_path / "fetched"
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        "poll %s protocol imap port %d\n  user \"%s\" password \"%s\"\n  sslproto tls1.2+ sslcertck "
        "sslcertfile %s sslcommonname mail.example.test\n  mda \"/bin/sh -c 'cat > %s'\"\n  keep\n"
        % (m.host, d.imap_port, USER, PASSWORD, os.path.join(m.dir, "cert.pem"), out))
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(tmp_path), FETCHMAILHOME=str(tmp_path))
    r = subprocess.run(["fetchmail", "-f", str(rc), "--nodetach", "--nosyslog", "-v"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "STARTTLS" in r.stdout + r.stderr
    got = out.read_bytes()
    assert mid.encode() in got and got.split(b"\n\n", 1)[1] == msg.split(b"\r\n\r\n", 1)[1].replace(b"\r\n", b"\n")


def checkpassword(m, stdin, *reply, env=None):
    """The passdb program as Dovecot runs it (as root here: it drops to mb-imapauth),
    the login on descriptor 3; `reply` is what it executes on success."""
    return subprocess.run(["/bin/sh", "-c", 'exec "$@" 3<&0', "sh", harness.bin_path("mailbag-checkpassword"),
                           "-c", m.conf_path] + list(reply),
                          input=stdin, capture_output=True, timeout=60,
                          env=dict(os.environ, TCPREMOTEIP="192.0.2.9", **(env or {})))


def test_checkpassword_program_answers(imap):
    m, _ = imap()
    ok = checkpassword(m, b"DEMO@example.test\0" + PASSWORD.encode() + b"\0", "/bin/sh", "-c", 'echo "$USER $(id -un)"')
    assert ok.returncode == 0 and ok.stdout.decode().strip() == USER + " mb-imapauth", ok
    assert checkpassword(m, b"demo@example.test\0wrong\0", "/bin/true").returncode == 1
    assert checkpassword(m, b"nobody@example.test\0pw\0", "/bin/true").returncode == 1
    bad = checkpassword(m, b"%u@example.test\0" + PASSWORD.encode() + b"\0", "/bin/true")
    assert bad.returncode == 1 and b"refused" in bad.stderr
    assert checkpassword(m, b"demo@example.test", "/bin/true").returncode == 1
    assert checkpassword(m, b"demo@example.test\0pw\0", "/bin/true", env={"AUTHORIZED": "1"}).returncode == 1
    m.kill("mailbag-auth")
    assert checkpassword(m, b"demo@example.test\0" + PASSWORD.encode() + b"\0", "/bin/true").returncode == 111


def test_only_the_imap_checker_asks_about_imap(imap):
    m, _ = imap()
    code = ("import socket,struct,sys\n"
            "sys.path.insert(0, sys.argv[3])\n"
            "from ipc_wire import RawPeer, frame, s, u64\n"
            "try:\n"
            "    p = RawPeer(sys.argv[1], 'mailbag-auth', True)\n"
            "    p.sock.send(frame(60, u64(1) + s(sys.argv[2]) + s('192.0.2.7') + s('demo@example.test') + s('x')))\n"
            "    print('closed' if p.closed() else 'served')\n"
            "except (BrokenPipeError, ConnectionResetError):\n"
            "    print('closed')\n")
    here = os.path.dirname(os.path.abspath(__file__))
    sock = os.path.join(m.spool, "private", "auth")

    def ask(user, group, service):
        r = subprocess.run(["setpriv", "--reuid=" + user, "--regid=" + group, "--groups=mb-auth", "--",
                            "/usr/bin/python3", "-c", code, sock, service, here],
                           capture_output=True, text=True, timeout=60)
        return r.stdout.strip() or r.stderr

    assert ask("mb-imapauth", "mb-imapauth", "pop3") == "closed"  # no POP3 token for Dovecot's side
    assert ask("mb-imapauth", "mb-imapauth", "smtp") == "closed"
    assert ask("mb-pop3d", "mb-pop3d", "imap") == "closed"        # nor IMAP checks for pop3d
    assert ask("mb-remote", "mb-remote", "imap") == "closed"      # nor for anyone else
    m.wait_for_log("mailbag-auth", "an AuthCheck for pop3 from a user that may not ask for it")
    assert m.alive("mailbag-auth")


def test_dovecot_config_never_replaces_a_file_it_did_not_write(make_mailbag, tmp_path):
    m = make_mailbag()
    target = tmp_path / "dovecot"
    r = m.mailctl("dovecot", "config", str(target))
    assert "wrote %s/dovecot.conf" % target in r.stdout
    conf = (target / "dovecot.conf").read_text()
    assert conf.startswith("# Written by mailctl dovecot config (Mailbag).\n")
    assert "args = %s/checkpassword" % target in conf and "home=%s/%%d/%%n" % m.mail in conf
    wrapper = (target / "checkpassword").read_text()
    assert os.stat(target / "checkpassword").st_mode & 0o777 == 0o755
    assert "-c '%s'" % m.conf_path in wrapper and "mailbag-checkpassword" in wrapper
    # Run again: its own files are replaced; the administrator's local.conf is not.
    (target / "local.conf").write_text("listen = 192.0.2.1\n")
    m.mailctl("dovecot", "config", str(target))
    assert (target / "local.conf").read_text() == "listen = 192.0.2.1\n"
    # A Dovecot configuration it did not write: refused, nothing written.
    other = tmp_path / "etc-dovecot"
    other.mkdir()
    (other / "dovecot.conf").write_text("## Dovecot configuration file\nprotocols = imap pop3\n")
    r = m.mailctl("dovecot", "config", str(other), check=False)
    assert r.returncode == 2 and "was not written by mailctl" in r.stderr, r
    assert (other / "dovecot.conf").read_text() == "## Dovecot configuration file\nprotocols = imap pop3\n"
    assert not (other / "checkpassword").exists()
