# make install.
#   - Staged (DESTDIR): the binaries, man pages, one systemd unit per daemon plus
#     mailbag.target, the relay database's expiry timer and the daily TLS reports' timer
#     (each with a cron.d example), links
#     for sendmail and newaliases in /usr/sbin, and a commented example configuration,
#     with their modes; a second run changes nothing and keeps an edited configuration.
#   - For real, as root, inside a private mount namespace (unshare -m) whose /etc,
#     /usr/local, /var/lib, /var/spool and /var/mail are overlays on temporary
#     directories, so the machine itself is never touched: without any mb-* user,
#     `make install` creates the users and groups and the directory tree with exact
#     owners and modes; `systemd-analyze verify` finds nothing to say about the installed
#     units; the installed daemons run with the installed configuration; a second
#     `make install` (an upgrade) keeps the configuration, the queue and the mailboxes.
# The build itself is not redone here (make -o all): the binaries are those of
# $MAILBAG_BUILD.
import filecmp
import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile

import pytest

import harness

PROGRAMS = ("smtpd", "queue-manager", "local", "remote", "pop3d", "relayctl", "mailctl", "sendmail", "checks",
            "dkim", "mailbag-auth", "mailbag-tlskey", "pop3-mailbox")
UNITS = ("mailbag-smtpd.service", "mailbag-queue-manager.service", "mailbag-local.service",
         "mailbag-remote.service", "mailbag-pop3d.service", "mailbag-checks.service", "mailbag-dkim.service",
         "mailbag-auth.service", "mailbag-tlskey.service", "mailbag-pop3-mailbox.service",
         "mailbag.target")
# The relay database's expiry: a oneshot service and its timer, started with the target.
EXPIRE_UNITS = ("mailbag-relayctl-expire.service", "mailbag-relayctl-expire.timer")
# The daily TLS reports (RFC 8460): the same, once a day.
TLSRPT_UNITS = ("mailbag-tlsrpt.service", "mailbag-tlsrpt.timer")
MAN = ("man5/mailbag.conf.5", "man5/mailbag-queue.5", "man7/mailbag.7", "man7/mailbag-ipc.7", "man8/smtpd.8",
       "man8/queue-manager.8", "man8/local.8", "man8/remote.8", "man8/pop3d.8", "man8/mailctl.8",
       "man8/relayctl.8", "man8/sendmail.8", "man8/checks.8", "man8/dkim.8", "man8/mailbag-auth.8",
       "man8/mailbag-tlskey.8", "man8/pop3-mailbox.8")


def make_install(destdir="", extra=()):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    args = ["make", "-C", harness.REPO, "--no-print-directory", "-o", "all", "BUILD=" + harness.build_dir(),
            "PREFIX=/usr/local", "install"]
    if destdir:
        args.append("DESTDIR=" + destdir)
    r = subprocess.run(args + list(extra), capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def tree(root):
    """{relative path: (mode, uid, gid, content or link target)} of everything under root."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    content = f.read()
            else:
                content = None
            out[os.path.relpath(p, root)] = (st.st_mode, st.st_uid, st.st_gid, content)
    return out


def test_staged_install_is_complete_and_idempotent(tmp_path):
    dest = str(tmp_path / "stage")
    make_install(dest)
    sbin = os.path.join(dest, "usr/local/sbin")
    for p in PROGRAMS:
        if not os.path.exists(harness.bin_path(p)):
            continue
        st = os.stat(os.path.join(sbin, p))
        assert filecmp.cmp(os.path.join(sbin, p), harness.bin_path(p), shallow=False), p
        if p == "sendmail" and harness.is_root():
            # Set-group-ID mb-drop: ordinary users submit through the drop directory.
            assert stat.S_IMODE(st.st_mode) == 0o2755 and st.st_gid == grp.getgrnam("mb-drop").gr_gid, oct(st.st_mode)
        else:
            assert stat.S_IMODE(st.st_mode) == 0o755, (p, oct(st.st_mode))
    for m in MAN:
        st = os.stat(os.path.join(dest, "usr/local/share/man", m))
        assert stat.S_IMODE(st.st_mode) == 0o644, m
    units = os.path.join(dest, "etc/systemd/system")
    assert sorted(os.listdir(units)) == sorted(UNITS + EXPIRE_UNITS + TLSRPT_UNITS)
    expire = open(os.path.join(units, EXPIRE_UNITS[0])).read()
    assert "ExecStart=/usr/local/sbin/relayctl -c /etc/mailbag/mailbag.conf expire\n" in expire
    assert "OnCalendar=*:0/5\n" in open(os.path.join(units, EXPIRE_UNITS[1])).read()
    # The same schedule for cron, with absolute paths; sendmail and newaliases where
    # programs look for them (nothing there in the stage: links are made).
    cron = open(os.path.join(dest, "usr/local/share/doc/mailbag/examples/cron.d-mailbag-relayctl")).read()
    assert "*/5 * * * * root /usr/local/sbin/relayctl -c /etc/mailbag/mailbag.conf expire\n" in cron
    tlsrpt = open(os.path.join(units, TLSRPT_UNITS[0])).read()
    assert "ExecStart=/usr/local/sbin/mailctl -c /etc/mailbag/mailbag.conf tlsrpt send\n" in tlsrpt
    assert "OnCalendar=*-*-* 00:15:00 UTC\n" in open(os.path.join(units, TLSRPT_UNITS[1])).read()
    cron = open(os.path.join(dest, "usr/local/share/doc/mailbag/examples/cron.d-mailbag-tlsrpt")).read()
    assert "15 0 * * * root /usr/local/sbin/mailctl -c /etc/mailbag/mailbag.conf tlsrpt send\n" in cron
    for n in ("sendmail", "newaliases"):
        assert os.readlink(os.path.join(dest, "usr/sbin", n)) == "/usr/local/sbin/sendmail", n
    assert os.readlink(os.path.join(dest, "usr/sbin/mailq")) == "/usr/local/sbin/mailctl"
    for u in UNITS:
        text = open(os.path.join(units, u)).read()
        assert stat.S_IMODE(os.stat(os.path.join(units, u)).st_mode) == 0o644
        assert "@" not in text.replace("@system-service", ""), (u, "unsubstituted placeholder")
        if u.endswith(".service"):
            prog = u[len("mailbag-"):-len(".service")]
            prog = {"auth": "mailbag-auth", "tlskey": "mailbag-tlskey"}.get(prog, prog)
            assert "ExecStart=/usr/local/sbin/%s -c /etc/mailbag/mailbag.conf\n" % prog in text, u
            # SIGHUP rereads the configuration in every daemon (mailbag.conf(5) RELOADING).
            assert "ExecReload=/bin/kill -HUP $MAINPID\n" in text, u
            for key in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "CapabilityBoundingSet=",
                        "RestrictAddressFamilies=", "PartOf=mailbag.target", "WantedBy=mailbag.target"):
                assert key in text, (u, key)
    for u in ("mailbag-smtpd.service", "mailbag-queue-manager.service", "mailbag-remote.service",
              "mailbag-pop3d.service", "mailbag-auth.service", "mailbag-tlskey.service",
              "mailbag-pop3-mailbox.service"):
        text = open(os.path.join(units, u)).read()
        assert "SystemCallFilter=@system-service\n" in text and "UMask=0007\n" in text, u
    if shutil.which("systemd-analyze"):
        # systemd's own rating of the sandbox: "OK" (below 5 on its 0-10 exposure scale).
        for u in UNITS[:-1] + EXPIRE_UNITS[:1] + TLSRPT_UNITS[:1]:
            r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                                os.path.join(units, u)], capture_output=True, text=True)
            line = [ln for ln in r.stdout.splitlines() if "Overall exposure level" in ln]
            assert line, r.stdout + r.stderr
            score = float(line[0].split(":")[1].split()[0])
            assert score < 5.0, (u, line[0])
    # The link-up hook for ifupdown and NetworkManager: executable, paths filled in.
    for hook in ("etc/network/if-up.d/mailbag", "etc/NetworkManager/dispatcher.d/50-mailbag"):
        path = os.path.join(dest, hook)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o755, hook
        text = open(path).read()
        assert "@" not in text, (hook, "unsubstituted placeholder")
        assert "/usr/local/sbin/mailctl" in text and "/etc/mailbag/mailbag.conf" in text, hook
    target = open(os.path.join(units, "mailbag.target")).read()
    for u in UNITS[:-1] + EXPIRE_UNITS[1:] + TLSRPT_UNITS[1:]:
        assert u in target, u
    conf = os.path.join(dest, "etc/mailbag/mailbag.conf")
    text = open(conf).read()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    # An example: every setting is there, commented out, with its default.
    assert all(ln.startswith("#") for ln in lines), [ln for ln in lines if not ln.startswith("#")][:5]
    for key in ("hostname", "spool_directory", "smtp_listen", "tls_cert_file", "message_size_limit"):
        assert ("#%s = " % key) in text, key
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o644

    # Again: nothing changes, and an administrator's configuration is never overwritten.
    with open(conf, "a") as f:
        f.write("hostname = mail.example.org\n")
    before = tree(dest)
    out = make_install(dest)
    assert "keeping existing" in out, out
    after = tree(dest)
    assert before.keys() == after.keys()
    changed = [p for p in before if before[p] != after[p]]
    assert not changed, changed


def have_namespaces():
    if not harness.is_root() or not shutil.which("unshare") or not shutil.which("systemd-analyze"):
        return False
    r = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs none /mnt"], capture_output=True)
    return r.returncode == 0



# Runs inside `unshare -m` (/usr/sbin too is an overlay: make install may add links
# there): argv[1] is the integration test folder, argv[2] a scratch
# directory for the overlays' upper layers. Prints one JSON line with what it saw.
REAL_INSTALL = r"""
import grp, json, os, pwd, shutil, stat, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import harness
import test_install as ti
scratch = sys.argv[2]
out = {}

def run(*args, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=120, **kw)
    return [r.returncode, r.stdout + r.stderr]

subprocess.run(["mount", "--make-rprivate", "/"], check=True)
for d in ("/etc", "/usr/local", "/usr/sbin", "/var/lib", "/var/spool", "/var/mail"):
    name = d.strip("/").replace("/", "-")
    upper, work = os.path.join(scratch, name + "-upper"), os.path.join(scratch, name + "-work")
    os.makedirs(upper)
    os.makedirs(work)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    "lowerdir=%s,upperdir=%s,workdir=%s" % (d, upper, work), d], check=True)
# A machine that never had Mailbag: no mb-* users or groups. The account files are
# edited directly (in the /etc overlay): userdel refuses users that have processes --
# the daemons of other tests running as the same mb-* users.
for name in ("passwd", "shadow", "group", "gshadow"):
    path = "/etc/" + name
    if not os.path.exists(path):
        continue
    with open(path) as f:
        lines = f.readlines()
    keep = []
    for ln in lines:
        if ln.startswith("mb-"):
            continue
        if name in ("group", "gshadow"):
            fields = ln.rstrip("\n").split(":")
            fields[-1] = ",".join(x for x in fields[-1].split(",") if x and not x.startswith("mb-"))
            ln = ":".join(fields) + "\n"
        keep.append(ln)
    with open(path, "w") as f:
        f.writelines(keep)
out["users_before"] = [p.pw_name for p in pwd.getpwall() if p.pw_name.startswith("mb-")]

out["install1"] = ti.make_install()
out["users"] = {}
for p in pwd.getpwall():
    if p.pw_name.startswith("mb-"):
        groups = sorted(g.gr_name for g in grp.getgrall() if p.pw_name in g.gr_mem)
        out["users"][p.pw_name] = [grp.getgrgid(p.pw_gid).gr_name, groups, p.pw_shell]

def modes():
    m = {}
    for path in ["/var/spool/mailbag", "/var/spool/mailbag/incoming", "/var/spool/mailbag/queue",
                 "/var/spool/mailbag/corrupt", "/var/spool/mailbag/state", "/var/spool/mailbag/private",
                 "/var/lib/mailbag", "/var/lib/mailbag/quota", "/var/mail/vhosts", "/usr/local/sbin/sendmail",
                 "/etc/mailbag/mailbag.conf", "/var/lib/mailbag/dkim", "/var/spool/mailbag/signer"]:
        try:
            st = os.stat(path)
            m[path] = [oct(stat.S_IMODE(st.st_mode)), pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name]
        except OSError as e:
            m[path] = str(e)
    return m
out["modes1"] = modes()
units = ["/etc/systemd/system/" + u for u in ti.UNITS + ti.EXPIRE_UNITS + ti.TLSRPT_UNITS]
out["verify"] = run("systemd-analyze", "verify", *units)

# Run what was installed, with the installed configuration (plus what a test needs).
ip = harness.unique_loopback()
conf = "/etc/mailbag/mailbag.conf"
with open(conf, "a") as f:
    f.write("hostname = mail.example.test\nlog_target = stderr\nsmtp_listen = %s:25\n"
            "submission_listen =\nsubmissions_listen =\nqueue_retry_min = 1s\nqueue_retry_max = 2s\n" % ip)
edited = open(conf).read()
out["domain"] = run("/usr/local/sbin/mailctl", "-c", conf, "domain", "add", "example.test")
out["user"] = run("/usr/local/sbin/mailctl", "-c", conf, "user", "add", "demo@example.test", input="pw-demo-1\n")
procs = {}
logdir = os.path.join(scratch, "logs")
os.makedirs(logdir, exist_ok=True)

def start(name):
    log = open(os.path.join(logdir, name + ".log"), "ab")
    procs[name] = subprocess.Popen(["/usr/local/sbin/" + name, "-c", conf], stdout=log, stderr=log,
                                   stdin=subprocess.DEVNULL)
    time.sleep(0.3)

def stop(name):
    p = procs.pop(name)
    p.terminate()
    p.wait(10)

def send(subject):
    import smtplib
    for _ in range(50):
        try:
            with smtplib.SMTP(ip, 25, timeout=10) as s:
                return s.sendmail("a@example.net", ["demo@example.test"], "Subject: %s\r\n\r\nhi\r\n" % subject) == {}
        except (OSError, smtplib.SMTPException):
            time.sleep(0.2)
    return False

def count(d):
    try:
        return len(os.listdir(d))
    except OSError:
        return -1

new = "/var/mail/vhosts/example.test/demo/new"
try:
    for n in ("mailbag-auth", "queue-manager", "local", "smtpd"):
        start(n)
    out["sent1"] = send("first")
    for _ in range(100):
        if count(new) >= 1:
            break
        time.sleep(0.1)
    stop("local")
    out["sent2"] = send("waits in the queue")
    time.sleep(0.5)
    out["queue_before"] = sorted(os.listdir("/var/spool/mailbag/queue"))
    out["maildir_before"] = count(new)
    for n in list(procs):
        stop(n)

    # The upgrade.
    out["install2"] = ti.make_install()
    out["conf_kept"] = open(conf).read() == edited
    out["queue_after"] = sorted(os.listdir("/var/spool/mailbag/queue"))
    out["maildir_after"] = count(new)
    out["modes2"] = modes()
    out["verify2"] = run("systemd-analyze", "verify", *units)
    for n in ("queue-manager", "local", "smtpd"):
        start(n)
    for _ in range(100):
        if count(new) >= 2 and not os.listdir("/var/spool/mailbag/queue"):
            break
        time.sleep(0.1)
    out["maildir_final"] = count(new)
finally:
    for n in list(procs):
        stop(n)
    out["logs"] = {n[:-4]: open(os.path.join(logdir, n)).read()[-3000:] for n in os.listdir(logdir)}
print(json.dumps(out))
"""


@pytest.mark.skipif(not have_namespaces(), reason="needs root, mount namespaces and systemd-analyze")
@pytest.mark.skipif(harness.sanitizer_build(), reason="LeakSanitizer cannot run in the setgid sendmail make install checks")
def test_real_install_creates_users_and_tree_and_an_upgrade_keeps_the_mail():
    scratch = tempfile.mkdtemp(prefix="mailbag-install-", dir="/tmp")
    try:
        env = dict(os.environ)
        env["MAILBAG_BUILD"] = harness.build_dir()
        r = subprocess.run(["unshare", "-m", "/usr/bin/python3", "-c", REAL_INSTALL,
                            os.path.dirname(os.path.abspath(__file__)), scratch],
                           capture_output=True, text=True, timeout=600, env=env)
        assert r.returncode == 0, r.stdout[-5000:] + r.stderr[-5000:]
        out = json.loads(r.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    logs = "\n".join("== %s\n%s" % kv for kv in out.get("logs", {}).items())
    assert out["users_before"] == []
    # Users and groups as common/privsep/users.cpp says; no login shell.
    want = {
        "mb-smtpd": ["mb-smtpd", ["mb-acct", "mb-auth", "mb-drop", "mb-relay"]],
        "mb-queue": ["mb-queue", ["mb-acct", "mb-drop"]],
        "mb-vmail": ["mb-mail", ["mb-acct", "mb-drop"]],
        "mb-remote": ["mb-remote", []],
        "mb-pop3d": ["mb-pop3d", ["mb-auth", "mb-relay"]],  # the POP3 login process: no Maildir
        "mb-pop3mbox": ["mb-pop3mbox", ["mb-auth", "mb-mail"]],  # the POP3 mailbox process
        "mb-admin": ["mb-admin", ["mb-acct", "mb-authd"]],  # owns accounts.mdb, passwd.mdb
        "mb-authd": ["mb-authd", ["mb-acct", "mb-relay"]],  # the only reader of passwd.mdb
        "mb-imapauth": ["mb-imapauth", ["mb-auth"]],  # Dovecot's auth process: IMAP checks only
        "mb-checks": ["mb-checks", []],  # the built-in checks: no shared group
        "mb-dkim": ["mb-dkim", []],  # the DKIM signer, the only reader of the keys
        "mb-tlskey": ["mb-tlskey", []],  # the TLS key daemon, the only holder of the TLS key
    }
    got = {u: v[:2] for u, v in out["users"].items()}
    assert got == want, got
    for u, v in out["users"].items():
        assert v[2] in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false"), (u, v)
    # The tree (mailbag-queue(5), mailctl/init.cpp).
    m = out["modes1"]
    expect = {
        "/var/spool/mailbag": ["0o755", "root", "root"],
        "/var/spool/mailbag/incoming": ["0o3730", "mb-queue", "mb-drop"],
        "/var/spool/mailbag/queue": ["0o700", "mb-queue", "mb-queue"],
        "/var/spool/mailbag/corrupt": ["0o700", "mb-queue", "mb-queue"],
        "/var/spool/mailbag/state": ["0o700", "mb-queue", "mb-queue"],
        "/var/spool/mailbag/private": ["0o755", "mb-queue", "mb-queue"],
        "/var/lib/mailbag": ["0o755", "root", "root"],
        "/var/lib/mailbag/quota": ["0o750", "mb-vmail", "mb-acct"],
        "/var/mail/vhosts": ["0o770", "mb-vmail", "mb-mail"],
        "/usr/local/sbin/sendmail": ["0o2755", "root", "mb-drop"],
        "/etc/mailbag/mailbag.conf": ["0o644", "root", "root"],
        "/var/lib/mailbag/dkim": ["0o711", "mb-dkim", "mb-dkim"],
        "/var/spool/mailbag/signer": ["0o710", "mb-dkim", "mb-remote"],
    }
    assert m == expect, {k: (m.get(k), v) for k, v in expect.items() if m.get(k) != v}
    # systemd-analyze verify: not a word (it checks syntax, that ExecStart exists and is
    # executable, and that the man pages in Documentation= are found).
    assert out["verify"] == [0, ""], out["verify"]
    # The installed programs work with the installed configuration.
    assert out["domain"][0] == 0 and out["user"][0] == 0, (out["domain"], out["user"])
    assert out["sent1"] and out["sent2"], logs
    assert out["maildir_before"] == 1 and len(out["queue_before"]) == 1, (out, logs)
    # The upgrade keeps the configuration, the queue, the mailboxes and the tree.
    assert "keeping existing /etc/mailbag/mailbag.conf" in out["install2"], out["install2"]
    assert out["conf_kept"]
    assert out["queue_after"] == out["queue_before"] and out["maildir_after"] == 1
    assert out["modes2"] == out["modes1"]
    assert out["verify2"] == [0, ""], out["verify2"]
    assert out["maildir_final"] == 2, logs
