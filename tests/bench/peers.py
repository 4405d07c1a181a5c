# The benchmark's baselines, each a private instance in a temporary directory: Postfix
# (its own config directory, virtual Maildir delivery for the bench users) and Dovecot
# (POP3 only, over a given Maildir tree). Both come from the Debian packages, run on their
# own 127.x address and a high port, log to a file in their directory and are stopped by
# their own pid or control command. Nothing in /etc/postfix or /etc/dovecot is read or
# written, and port 25 is never bound.
import os
import pwd
import grp
import shutil
import signal
import socket
import subprocess
import tempfile
import time

POSTFIX_SERVICES = """\
# service type  private unpriv  chroot  wakeup  maxproc command (written by tests/bench)
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def port_free(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_port(host, port, timeout=30, alive=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                s.recv(100)
                return
        except OSError:
            if alive is not None and not alive():
                raise RuntimeError("server died while starting")
            time.sleep(0.05)
    raise RuntimeError("%s:%d did not answer within %d s" % (host, port, timeout))


def _run_tty(argv):
    """Runs a Postfix admin command; Postfix writes its diagnostics to stderr only on a
    terminal (otherwise only to its log), so errors go through `script` for a pty."""
    r = subprocess.run(["script", "-qec", " ".join(argv), "/dev/null"],
                       capture_output=True, text=True, timeout=120)
    return r.returncode, (r.stdout + r.stderr).strip()


class Postfix:
    def __init__(self, users, domain, host="127.0.0.30", port=2525, mail_uid=None,
                 mail_gid=None, base_dir="/tmp", extra_main=None):
        self.dir = tempfile.mkdtemp(prefix="bench-postfix-", dir=base_dir)
        os.chmod(self.dir, 0o755)
        self.users = list(users)  # local parts
        self.domain = domain
        self.host, self.port = host, port
        self.conf = os.path.join(self.dir, "conf")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.mail = os.path.join(self.dir, "mail")
        self.log = os.path.join(self.dir, "postfix.log")
        nobody = pwd.getpwnam("nobody")
        self.uid = nobody.pw_uid if mail_uid is None else mail_uid
        self.gid = nobody.pw_gid if mail_gid is None else mail_gid
        self.extra_main = dict(extra_main or {})
        self.running = False

    def maildir(self, local):
        return os.path.join(self.mail, self.domain, local)

    def setup(self):
        for d in (self.conf, self.queue):
            os.makedirs(d, mode=0o755, exist_ok=True)
        os.makedirs(self.data, mode=0o700, exist_ok=True)
        pf = pwd.getpwnam("postfix")
        os.chown(self.data, pf.pw_uid, pf.pw_gid)
        os.makedirs(os.path.join(self.mail, self.domain), exist_ok=True)
        for d in (self.mail, os.path.join(self.mail, self.domain)):
            os.chown(d, self.uid, self.gid)
        vmap = os.path.join(self.conf, "vmailbox")
        with open(vmap, "w") as f:
            for u in self.users:
                f.write("%s@%s %s/%s/\n" % (u, self.domain, self.domain, u))
        main = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "postfix.bench.test",
            "mydomain": "bench.test",
            "mydestination": "",
            # Postfix only accepts addresses of real interfaces here; the service itself
            # listens on {host}:{port} (master.cf).
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "relay_domains": "",
            "virtual_mailbox_domains": self.domain,
            "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": "texthash:" + vmap,
            "virtual_uid_maps": "static:%d" % self.uid,
            "virtual_gid_maps": "static:%d" % self.gid,
            "virtual_minimum_uid": "1",
            "maillog_file": self.log,
            "maillog_file_prefixes": self.dir,
            # Mailbag does no reverse lookup either; and no DNS packet may leave the host.
            "smtpd_peername_lookup": "no",
        }
        main.update(self.extra_main)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write("# written by tests/bench/peers.py; default durability (fsync) kept\n")
            for k, v in main.items():
                f.write("%s = %s\n" % (k, v))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(POSTFIX_SERVICES.format(listen="%s:%d" % (self.host, self.port)))
        rc, out = _run_tty(["postfix", "-c", self.conf, "check"])
        if rc != 0:
            raise RuntimeError("postfix check failed: %s" % out)

    def start(self):
        rc, out = _run_tty(["postfix", "-c", self.conf, "start"])
        if rc != 0:
            raise RuntimeError("postfix start failed: %s\n%s" % (out, self.log_tail()))
        self.running = True
        wait_port(self.host, self.port, alive=lambda: self.master_pid() is not None)

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                pid = int(f.read().split()[0])
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError, IndexError):
            return None

    def roots(self):
        pid = self.master_pid()
        return [pid] if pid else []

    def alive(self):
        return self.master_pid() is not None

    def stop(self):
        if not self.running:
            return
        pid = self.master_pid()
        _run_tty(["postfix", "-c", self.conf, "stop"])
        end = time.monotonic() + 15
        while pid and time.monotonic() < end:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.1)
        else:
            if pid:
                _run_tty(["postfix", "-c", self.conf, "abort"])
        self.running = False

    def log_tail(self, n=4000):
        try:
            with open(self.log, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def queue_empty(self):
        for sub in ("incoming", "active", "deferred", "maildrop"):
            for _root, _dirs, files in os.walk(os.path.join(self.queue, sub)):
                if files:
                    return False
        return True

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# Dovecot's own accounts for the bench peers: the yescrypt hashes Mailbag checks, in a
# passwd-file under the instance's directory (POP3 here, IMAP in imap_logins.py).
PASSWD_FILE_DB = """\
passdb {{
  driver = passwd-file
  args = scheme=CRYPT username_format=%u {dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/passwd
}}
"""

DOVECOT_CONF = """\
# written by tests/bench/peers.py: POP3 only, over the bench Maildirs
base_dir = {dir}/run
state_dir = {dir}/state
instance_name = mbbench-dovecot
log_path = {dir}/dovecot.log
protocols = pop3
listen = {host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
login_trusted_networks = 127.0.0.0/8
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{mail}/%d/%n
default_internal_user = dovecot
default_login_user = dovenull
""" + PASSWD_FILE_DB + """\
service pop3-login {{
  inet_listener pop3 {{
    address = {host}
    port = {port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


class Dovecot:
    """POP3 over `mail_root`/DOMAIN/USER Maildirs, the users' mail owned by uid:gid.
    `users` is [(address, password hash)]: the same yescrypt hashes Mailbag checks, so
    both servers pay the same for a login."""

    def __init__(self, users, mail_root, uid, gid, host="127.0.0.32", port=1110):
        self.dir = tempfile.mkdtemp(prefix="bench-dovecot-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.users = list(users)
        self.mail = mail_root
        self.uid, self.gid = uid, gid
        self.host, self.port = host, port
        self.proc = None

    def setup(self):
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            for addr, h in self.users:
                local, domain = addr.split("@")
                f.write("%s:{CRYPT}%s:%d:%d::%s/%s/%s::\n"
                        % (addr, h, self.uid, self.gid, self.mail, domain, local))
        os.chmod(os.path.join(self.dir, "passwd"), 0o640)
        os.chown(os.path.join(self.dir, "passwd"), 0, grp.getgrnam("dovecot").gr_gid)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(dir=self.dir, host=self.host, port=self.port,
                                        mail=self.mail))
        r = subprocess.run(["dovecot", "-c", self.conf, "-n"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("dovecot -n failed: %s" % r.stderr)

    def start(self):
        out = open(os.path.join(self.dir, "stderr.log"), "ab")
        self.proc = subprocess.Popen(["dovecot", "-c", self.conf, "-F"], stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=out, start_new_session=True)
        out.close()
        wait_port(self.host, self.port, alive=self.alive)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def roots(self):
        return [self.proc.pid] if self.alive() else []

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self, n=4000):
        try:
            with open(os.path.join(self.dir, "dovecot.log"), "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
