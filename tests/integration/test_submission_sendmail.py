# Local submission with our sendmail: mail(1) from mailutils through it, the
# classic options (-t, -f, -F, -i/-oi, recipients on the command line), the headers it
# adds and removes, sysexits exit codes, and the installed set-group-ID program run by
# an ordinary user: it ignores -C and the environment and still gets the message into
# the queue through the drop directory. The machine's own /usr/sbin/sendmail is never
# touched: mail(1) is pointed at ours with its `sendmail` variable.
import json
import os
import re
import shutil
import subprocess

import pytest

import harness
from harness import header_values

USER = "demo@example.test"


def sendmail(m, args, data, env=None):
    return subprocess.run([harness.bin_path("sendmail"), "-C", m.conf_path] + list(args), input=data,
                          capture_output=True, timeout=120, env=env)


def test_mail_command_goes_through_our_sendmail(mb, tmp_path):
    # mailutils' "prog" mailer runs the program with exactly the arguments in the URL
    # (mailutils manual, "Mailer URL"), so mail(1) submits through our sendmail with our
    # configuration; -t makes it take the recipients from the header mail(1) writes.
    url = "prog://%s?-C&%s&-oi&-t" % (harness.bin_path("sendmail"), mb.conf_path)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    r = subprocess.run(["mail", "-n", "--no-config", "-E", "set sendmail=" + url, "-s", "hi", USER],
                       input=b"test\n", capture_output=True, env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    paths = mb.wait_for_messages(USER, 1)
    data = open(paths[0], "rb").read()
    assert header_values(data, "Subject") == ["hi"]
    assert data.endswith(b"\n\ntest\n"), data
    # Added by us: the trace field, Date:, Message-ID:, and From: for the calling user.
    assert header_values(data, "Received")[0].startswith("by mail.example.test (Mailbag, from userid %d)" % os.getuid())
    assert header_values(data, "Date") and header_values(data, "Message-ID")
    assert re.search(r"<?[^@\s]+@mail\.example\.test>?$", header_values(data, "From")[0]), header_values(data, "From")


def test_options_t_f_F_and_bcc(mb):
    msg = (b"To: Demo <demo@example.test>\r\n"
           b"Cc: \"Post, Master\" <postmaster@example.test> (the boss)\r\n"
           b"Bcc: hidden@example.test\r\n"
           b"Subject: options\r\n"
           b"\r\n"
           b"line one\r\n"
           b".\r\n"
           b"still the message with -i\r\n")
    r = sendmail(mb, ["-t", "-i", "-f", "robot@example.test", "-F", "Cron Daemon"], msg)
    assert r.returncode == 0, r.stderr
    data = open(mb.wait_for_messages(USER, 1)[0], "rb").read()
    assert data.startswith(b"Return-Path: <robot@example.test>\n"), data[:100]
    assert header_values(data, "From") == ["Cron Daemon <robot@example.test>"]
    assert not header_values(data, "Bcc"), "Bcc must be removed (RFC 5322 3.6.3)"
    assert b"\r" not in data
    assert data.endswith(b"line one\n.\nstill the message with -i\n"), data


def test_lone_dot_ends_the_message_without_i(mb):
    r = sendmail(mb, [USER], b"Subject: dots\n\nbefore\n.\nafter the dot\n")
    assert r.returncode == 0, r.stderr
    data = open(mb.wait_for_messages(USER, 1)[0], "rb").read()
    assert data.endswith(b"\nbefore\n"), data
    assert b"after the dot" not in data


def test_text_without_header_gets_one(mb):
    # Cron output has no header: all of it is the body, and a From: with the full name
    # (-F, not ASCII: an RFC 2047 encoded-word) is added.
    r = sendmail(mb, ["-F", "J\u00f6rg Cron", USER], b"just a line of cron output\n")
    assert r.returncode == 0, r.stderr
    data = open(mb.wait_for_messages(USER, 1)[0], "rb").read()
    head, body = harness.split_message(data)
    assert body == b"just a line of cron output\n", data
    assert b"\nFrom: =?UTF-8?B?SsO2cmcgQ3Jvbg==?= <" in head, head


def test_unqualified_recipients_use_sendmail_domain(make_mailbag):
    m = make_mailbag(conf={"sendmail_domain": "example.test"})
    r = sendmail(m, ["demo"], b"Subject: local\n\nfor demo\n")
    assert r.returncode == 0, r.stderr
    data = open(m.wait_for_messages(USER, 1)[0], "rb").read()
    assert header_values(data, "Delivered-To") == [USER]
    user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    assert data.startswith(("Return-Path: <%s@example.test>" % user).encode()), data[:80]


def test_exit_codes(mb):
    # EX_USAGE: no recipients, a bad address, an unknown option, -q.
    assert sendmail(mb, [], b"x\n").returncode == 64
    assert sendmail(mb, ["-t"], b"Subject: nobody\n\nx\n").returncode == 64
    assert sendmail(mb, ["bad address@@x"], b"x\n").returncode == 64
    assert sendmail(mb, ["--bogus", USER], b"x\n").returncode == 64
    assert sendmail(mb, ["-q"], b"").returncode == 64
    # EX_DATAERR: larger than message_size_limit (1M in the harness), or a NUL.
    big = b"Subject: big\n\n" + (b"x" * 999 + b"\n") * 1100
    r = sendmail(mb, [USER], big)
    assert r.returncode == 65 and b"message_size_limit" in r.stderr, r.stderr
    assert sendmail(mb, [USER], b"a\0b\n").returncode == 65
    # EX_CONFIG: an unreadable configuration.
    r = subprocess.run([harness.bin_path("sendmail"), "-C", "/nonexistent.conf", USER], input=b"x\n",
                       capture_output=True)
    assert r.returncode == 78
    # newaliases has nothing to do.
    assert subprocess.run([harness.bin_path("sendmail"), "-bi"], capture_output=True).returncode == 0
    # EX_TEMPFAIL: the queue manager is not running; nothing is queued.
    mb.kill("queue-manager")
    r = sendmail(mb, [USER], b"Subject: later\n\nx\n")
    assert r.returncode == 75, (r.returncode, r.stderr)
    assert b"queue manager is not running" in r.stderr
    assert not mb.maildir_messages(USER)


def have_overlay():
    if not harness.is_root() or not shutil.which("unshare") or not shutil.which("setpriv"):
        return False
    r = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs none /mnt"], capture_output=True)
    return r.returncode == 0


# Runs inside a private mount namespace (unshare -m): /etc gets an overlay holding
# /etc/mailbag/mailbag.conf, visible to this process tree only; then a whole Mailbag is
# started from here, so that the daemons and sendmail share the namespace's mounts (the
# queue manager links the O_TMPFILE sendmail wrote; Linux refuses a link across two
# namespaces' copies of one mount with EXDEV). Prints one JSON line with what it saw.
SETGID_SCRIPT = r"""
import grp, json, os, shutil, subprocess, sys
sys.path.insert(0, sys.argv[1])
import harness
m = harness.Mailbag()
out = {}
try:
    upper, work = os.path.join(m.dir, "etc-upper"), os.path.join(m.dir, "etc-work")
    os.makedirs(os.path.join(upper, "mailbag"), mode=0o755)
    os.makedirs(work)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    "lowerdir=/etc,upperdir=%s,workdir=%s" % (upper, work), "/etc"], check=True)
    m.start()
    shutil.copy(m.conf_path, "/etc/mailbag/mailbag.conf")
    os.chmod("/etc/mailbag/mailbag.conf", 0o644)
    # Installed as `make install` does: set-group-ID mb-drop.
    prog = os.path.join(m.dir, "sbin", "sendmail")
    os.makedirs(os.path.dirname(prog))
    shutil.copy(harness.bin_path("sendmail"), prog)
    os.chown(prog, 0, grp.getgrnam("mb-drop").gr_gid)
    os.chmod(prog, 0o2755)
    evil = os.path.join(m.dir, "evil.conf")
    with open(evil, "w") as f:
        f.write("spool_directory = /tmp/elsewhere\n")

    def nobody(args, env=()):
        r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            "env", "-i"] + list(env) + [prog] + args,
                           input=b"Subject: setgid\n\nfrom nobody\n", capture_output=True, timeout=120)
        return [r.returncode, r.stderr.decode("utf-8", "replace")]

    out["with_C"] = nobody(["-C", evil, "demo@example.test"])
    out["plain"] = nobody(["demo@example.test"], env=["MAILBAG_FAULTS=queue_file.write:fail"])
    if out["plain"][0] == 0:
        paths = m.wait_for_messages("demo@example.test", 1)
        out["message"] = open(paths[0], "rb").read().decode("utf-8", "replace")
    os.chmod(prog, 0o755)
    out["no_setgid"] = nobody(["demo@example.test"])
finally:
    out["logs"] = {n: m.logs(n)[-3000:] for n in harness.DAEMONS}
    m.cleanup()
print(json.dumps(out))
"""



@pytest.mark.skipif(not have_overlay(), reason="needs root and mount namespaces")
@pytest.mark.skipif(harness.sanitizer_build(), reason="LeakSanitizer cannot run in a set-group-ID process")
def test_installed_setgid_sendmail_run_by_an_ordinary_user():
    env = dict(os.environ)
    env["MAILBAG_BUILD"] = harness.build_dir()
    r = subprocess.run(["unshare", "-m", "/usr/bin/python3", "-c", SETGID_SCRIPT, os.path.dirname(harness.__file__)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    logs = "\n".join("== %s\n%s" % kv for kv in out["logs"].items())
    # A setgid run may not choose its configuration.
    code, err = out["with_C"]
    assert code == 64 and "-C is not allowed" in err, (code, err)
    # The compiled default configuration is used; the environment is not read (the
    # fault-injection setting that would fail a daemon's queue file write does nothing).
    code, err = out["plain"]
    assert code == 0, (code, err, logs)
    data = out["message"].encode()
    assert data.startswith(b"Return-Path: <nobody@mail.example.test>\n"), data[:100]
    assert header_values(data, "Received")[0].startswith("by mail.example.test (Mailbag, from userid 65534)")
    assert data.endswith(b"\n\nfrom nobody\n")
    # Without the setgid bit the same user cannot even reach the drop directory.
    code, err = out["no_setgid"]
    assert code in (73, 77), (code, err)
