# smtpd with ClamAV's real milter (clamav-milter in front of clamd, both started by the
# test in a temporary directory, clamd with a one-line signature database written here:
# the EICAR test string, so no network and no freshclam) set to `OnInfected Quarantine`:
# the Sendmail milter quarantine request (SMFIR_QUARANTINE). A clean message is
# delivered; an infected one is accepted (the client gets its 250, so no bounce and no
# retry), held in the queue with clamav-milter's reason, listed by `mailctl queue list`
# with "!", described by `mailctl queue show`, still held after the queue manager
# restarts, and delivered once the administrator releases it.
import os
import re
import shutil
import socket
import subprocess
import tempfile

import pytest

import harness
from harness import free_port, unique_loopback
from messages import make_message, msgid

USER = "demo@example.test"
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.fixture(scope="module")
def clamav():
    for exe in ("clamd", "clamav-milter"):
        if not (shutil.which(exe) or os.path.exists("/usr/sbin/" + exe)):
            pytest.fail("%s is not installed (Debian packages clamav-daemon and clamav-milter, in the "
                        "Makefile's TEST_PKGS)" % exe)
    d = tempfile.mkdtemp(prefix="clamav-", dir="/tmp")
    os.makedirs(os.path.join(d, "db"))
    os.makedirs(os.path.join(d, "tmp"))
    # An extended signature (.ndb): the EICAR string anywhere in any file type.
    with open(os.path.join(d, "db", "test.ndb"), "w") as f:
        f.write("Mailbag-Test-Signature:0:*:%s\n" % EICAR.hex())
    sock = os.path.join(d, "clamd.sock")
    with open(os.path.join(d, "clamd.conf"), "w") as f:
        f.write("LocalSocket %s\nDatabaseDirectory %s\nTemporaryDirectory %s\nForeground yes\n"
                "LogFile %s\nPidFile %s\n" % (sock, os.path.join(d, "db"), os.path.join(d, "tmp"),
                                              os.path.join(d, "clamd.log"), os.path.join(d, "clamd.pid")))
    host = unique_loopback()
    port = free_port(host)
    with open(os.path.join(d, "milter.conf"), "w") as f:
        f.write("MilterSocket inet:%d@%s\nClamdSocket unix:%s\nOnInfected Quarantine\nForeground yes\n"
                "LogFile %s\nPidFile %s\nLogInfected Basic\n"
                % (port, host, sock, os.path.join(d, "milter.log"), os.path.join(d, "milter.pid")))
    out = open(os.path.join(d, "stdout.log"), "wb")
    procs = []
    try:
        procs.append(subprocess.Popen([shutil.which("clamd") or "/usr/sbin/clamd", "-c",
                                       os.path.join(d, "clamd.conf")], stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True))
        for _ in harness.deadline_loop(120, "clamd to listen on " + sock):
            if procs[0].poll() is not None:
                raise RuntimeError("clamd exited: %s" % open(os.path.join(d, "stdout.log")).read()[-2000:])
            if os.path.exists(sock):
                break
        procs.append(subprocess.Popen([shutil.which("clamav-milter") or "/usr/sbin/clamav-milter", "-c",
                                       os.path.join(d, "milter.conf")], stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True))
        for _ in harness.deadline_loop(60, "clamav-milter to listen on %s:%d" % (host, port)):
            if procs[1].poll() is not None:
                raise RuntimeError("clamav-milter exited: %s" % open(os.path.join(d, "stdout.log")).read()[-2000:])
            try:
                socket.create_connection((host, port), timeout=1).close()
                break
            except OSError:
                pass
        yield "inet:%s:%d" % (host, port)
    finally:
        for p in reversed(procs):
            harness.stop_group(p)
        out.close()
        shutil.rmtree(d, ignore_errors=True)


def test_infected_message_is_quarantined_in_the_queue_until_released(make_mailbag, clamav):
    m = make_mailbag(conf={"milters": clamav, "milter_command_timeout": "60s"})
    sent = m.send(USER, make_message("clean", 1)[1])
    assert sent.code == 250, sent
    m.find_message(USER, msgid("clean", 1))

    bad = make_message("infected", 1)[1].replace(b"Message 1 of infected.", EICAR)
    held = m.send(USER, bad)
    assert held.code == 250, held  # accepted: no bounce, no retry by the client
    qid = held.queue_id
    m.wait_for_log("smtpd", r"%s: quarantine: a mail filter holds it in the queue: quarantined by clamav-milter"
                   % qid)
    m.wait_for_log("queue-manager", r"%s: on hold: quarantined by a mail filter" % qid)
    listing = m.mailctl("queue", "list").stdout
    assert re.search(r"^%s!" % qid, listing, re.M), listing
    show = m.mailctl("queue", "show", qid).stdout
    assert re.search(r"state +on hold: quarantined by a mail filter: quarantined by clamav-milter", show), show

    # Held across a restart of the queue manager (the hold travels in the queue file).
    m.restart("queue-manager")
    show = m.mailctl("queue", "show", qid).stdout
    assert "on hold: quarantined by a mail filter" in show, show
    assert all(harness.message_id(d) != msgid("infected", 1) for d in m.read_messages(USER).values())

    r = m.mailctl("queue", "release", qid)
    assert qid + " released" in r.stdout, r.stdout
    data = m.find_message(USER, msgid("infected", 1))
    assert EICAR in data
    m.wait_queue_empty()
