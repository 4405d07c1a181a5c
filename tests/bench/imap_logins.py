# `make bench`, part imap-logins: IMAP logins per second through Dovecot as `mailctl
# dovecot config` sets it up (each password checked by mailbag-checkpassword, which asks
# Mailbag's authentication daemon) against the same Dovecot with its own passwd-file
# holding the same yescrypt hashes, over the same Maildirs. Both Dovecots run side by side
# on 127.0.0.34, the rounds alternate A B A B; each round is LOGIN + LOGOUT repeated by
# concurrent clients (plaintext from the same address, which Dovecot counts as secured: the cost
# measured is the login, not TLS). Note Mailbag's daemon answers a repeated good
# password from its cache (one HMAC), while the passwd-file checks the yescrypt hash on
# each login (Dovecot's auth cache is off by default).
import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import peers
import servers
from report import Failure, log

HOST = "127.0.0.34"
SMTP_PORT, MB_IMAP_PORT, DC_IMAP_PORT = 2525, 2143, 2144

PASSWD_CONF = """\
# written by tests/bench/imap_logins.py: IMAP with Dovecot's own passwd-file
base_dir = {dir}/run
state_dir = {dir}/state
instance_name = mbbench-imap-passwd
log_path = {dir}/dovecot.log
protocols = imap
listen = {host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{mail}/%d/%n
""" + peers.PASSWD_FILE_DB + """\
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""

# Mailbag's Dovecot: mailctl's dovecot.conf, moved by its local.conf (the
# administrator's file) onto the bench's address and port.
LOCAL_CONF = """\
base_dir = {dir}/run
state_dir = {dir}/state
instance_name = mbbench-imap-mailbag
log_path = {dir}/dovecot.log
listen = {host}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


class IMAPDovecot:
    def __init__(self, name, conf_dir, port):
        self.name, self.dir, self.port = name, conf_dir, port
        self.proc = None

    def start(self):
        for d in ("run", "state"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        out = open(os.path.join(self.dir, "stderr.log"), "ab")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", os.path.join(self.dir, "dovecot.conf")],
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
        out.close()
        peers.wait_port(HOST, self.port, alive=lambda: self.proc.poll() is None)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log"), errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""


class IMAPLocal(imaplib.IMAP4):
    """imaplib's client connecting from HOST itself: Dovecot counts a connection whose
    two ends have the same address as secured, so plaintext LOGIN is allowed."""

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(HOST, 0))


def login_round(port, users, logins, sessions):
    """`logins` LOGIN+LOGOUT pairs by `sessions` threads, users in turn: logins/s."""
    errors = []
    counter = iter(range(logins))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            user, password = users[i % len(users)]
            try:
                c = IMAPLocal(HOST, port, timeout=30)
                c.login(user, password)
                c.logout()
            except (OSError, imaplib.IMAP4.error) as e:
                errors.append("%s: %s" % (user, e))
                return

    threads = [threading.Thread(target=worker) for _ in range(sessions)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    if errors:
        raise Failure("IMAP logins on port %d failed: %s" % (port, errors[0]))
    return logins / elapsed


def run(bench, bin_dir, domain, users, logins, rounds, sessions=8):
    """users: [(local part, password)]. Returns the results dict (also rounds in bench)."""
    if shutil.which("dovecot") is None or not os.path.exists(os.path.join(bin_dir, "mailbag-checkpassword")):
        raise Failure("imap-logins needs dovecot-imapd and mailbag-checkpassword")
    accounts = [("%s@%s" % (u, domain), p) for u, p in users]
    mb = servers.BenchMailbag(bin_dir, accounts, domain, HOST, SMTP_PORT, 2110)
    started = []
    tmp = tempfile.mkdtemp(prefix="bench-imap-", dir="/tmp")
    os.chmod(tmp, 0o755)
    try:
        mb.start()
        started.append(mb)
        # A: mailctl's configuration, Mailbag's passwords.
        a_dir = os.path.join(tmp, "mailbag")
        mb.mailctl("dovecot", "config", a_dir)
        with open(os.path.join(a_dir, "local.conf"), "w") as f:
            f.write(LOCAL_CONF.format(dir=a_dir, host=HOST, port=MB_IMAP_PORT))
        # B: the same Maildirs and hashes in Dovecot's own passwd-file.
        b_dir = os.path.join(tmp, "passwd")
        os.makedirs(b_dir)
        hashes = mb.passwd_hashes()
        uid, gid = pwd.getpwnam("mb-vmail").pw_uid, grp.getgrnam("mb-mail").gr_gid
        with open(os.path.join(b_dir, "passwd"), "w") as f:
            for addr, _ in accounts:
                local = addr.split("@")[0]
                f.write("%s:{CRYPT}%s:%d:%d::%s/%s/%s::\n" % (addr, hashes[addr], uid, gid, mb.mail, domain, local))
        os.chmod(os.path.join(b_dir, "passwd"), 0o640)
        os.chown(os.path.join(b_dir, "passwd"), 0, grp.getgrnam("dovecot").gr_gid)
        with open(os.path.join(b_dir, "dovecot.conf"), "w") as f:
            f.write(PASSWD_CONF.format(dir=b_dir, host=HOST, port=DC_IMAP_PORT, mail=mb.mail))
        a = IMAPDovecot("mailbag", a_dir, MB_IMAP_PORT).start()
        started.append(a)
        b = IMAPDovecot("dovecot", b_dir, DC_IMAP_PORT).start()
        started.append(b)
        # One warm-up login per user on each (Maildir indexes, both auth processes up).
        for d in (a, b):
            login_round(d.port, accounts, len(accounts), sessions)
        got = {"mailbag": [], "dovecot": []}
        for i in range(rounds):
            for d in (a, b):
                rate = login_round(d.port, accounts, logins, sessions)
                got[d.name].append(rate)
                bench.results["rounds"].append({"phase": "imap-logins", "server": d.name, "logins": logins,
                                                "round": i, "logins_per_s": rate})
                log("imap-logins round %d %s: %.0f logins/s" % (i, d.name, rate))
        return {"logins": logins, "sessions": sessions, "users": len(accounts)}
    except Failure:
        for d in started[1:]:
            log("%s dovecot log tail:\n%s" % (d.name, d.log_tail()))
        raise
    finally:
        for s in reversed(started):
            if isinstance(s, IMAPDovecot):
                s.stop()
        mb.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
