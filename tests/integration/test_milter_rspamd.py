# smtpd with the real rspamd as a milter (rspamd's proxy worker with `milter = yes`,
# scanning itself), started by the test in a temporary directory on a loopback address:
# no redis, no network (its resolver points at a closed port and the modules that only
# ask the network are off). The GTUBE test message is refused at DATA with rspamd's own
# reply text, so the client gets an SMTP error and no bounce is made; an ordinary message
# is delivered with the headers rspamd adds; a message rspamd's "add header" action marks
# (its X-Spam: Yes) lands in the user's Junk folder.
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from harness import header_values, unique_loopback, free_port
from messages import make_message, msgid

USER = "demo@example.test"
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# rspamd's test pattern (with enable_test_patterns) for its "add header" action.
GTUBE_ADD_HEADER = b"YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# Modules whose only work is asking the network (DNS lists, hash lookups) or redis.
NETWORK_MODULES = ("rbl", "surbl", "phishing", "fuzzy_check", "dkim_signing", "arc", "spf", "dkim", "dmarc",
                   "asn", "url_redirector", "neural", "ratelimit", "greylist", "replies", "history_redis",
                   "emails", "mx_check", "dcc", "external_services", "antivirus", "metadata_exporter",
                   "clickhouse", "elastic", "reputation", "bayes_expiry")

CONF = """
.include "$CONFDIR/common.conf"
options {
  pidfile = "%(dir)s/rspamd.pid";
  dbdir = "%(dir)s/db";
  .include "$CONFDIR/options.inc"
  enable_test_patterns = true;
  dns { nameserver = ["127.0.0.1:9"]; timeout = 0.5s; retransmits = 1; }
}
logging { type = "file"; filename = "%(dir)s/rspamd.log"; level = "notice"; }
worker "rspamd_proxy" {
  bind_socket = "%(host)s:%(port)d";
  milter = yes;
  timeout = 120s;
  count = 1;
  upstream "local" { default = yes; self_scan = yes; }
}
"""


@pytest.fixture(scope="module")
def rspamd():
    if not shutil.which("rspamd"):
        pytest.fail("rspamd is not installed (Debian package rspamd, in the Makefile's TEST_PKGS)")
    d = tempfile.mkdtemp(prefix="rspamd-", dir="/tmp")
    os.makedirs(os.path.join(d, "db"))
    os.makedirs(os.path.join(d, "local.d"))
    host = unique_loopback()
    port = free_port(host)
    with open(os.path.join(d, "rspamd.conf"), "w") as f:
        f.write(CONF % {"dir": d, "host": host, "port": port})
    # The headers rspamd adds in milter mode (X-Spamd-Result, X-Rspamd-Server, ...).
    with open(os.path.join(d, "local.d", "milter_headers.conf"), "w") as f:
        # The test client comes from 127.0.0.0/8, which rspamd skips by default.
        f.write("extended_spam_headers = true;\nskip_local = false;\nskip_authenticated = false;\n")
    for mod in NETWORK_MODULES:
        with open(os.path.join(d, "local.d", mod + ".conf"), "w") as f:
            f.write("enabled = false;\n")
    log = open(os.path.join(d, "stdout.log"), "wb")
    # -f: foreground; -i: allowed to run as root (the tests run as root).
    proc = subprocess.Popen(["rspamd", "-f", "-i", "-c", os.path.join(d, "rspamd.conf"),
                             "--var=LOCAL_CONFDIR=" + d, "--var=DBDIR=" + os.path.join(d, "db"),
                             "--var=RUNDIR=" + d, "--var=LOGDIR=" + d],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        end = time.monotonic() + 240  # loading and compiling its rules takes a while
        while True:
            if proc.poll() is not None:
                raise RuntimeError("rspamd exited (%s):\n%s" % (proc.returncode, open(os.path.join(d, "stdout.log")).read()[-3000:]))
            try:
                socket.create_connection((host, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > end:
                    raise RuntimeError("rspamd did not listen in time")
                time.sleep(0.5)
        yield "inet:%s:%d" % (host, port)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)
        log.close()
        shutil.rmtree(d, ignore_errors=True)


def test_gtube_rejected_at_data_with_rspamds_text(make_mailbag, rspamd):
    m = make_mailbag(conf={"milters": rspamd, "milter_command_timeout": "60s"})
    msg = make_message("gtube", 1)[1].replace(b"Message 1 of gtube.", GTUBE)
    sent = m.send(USER, msg)
    assert sent.code == 554 and b"Gtube pattern" in sent.text, sent
    m.wait_for_log("smtpd", r"milter inet:.* reject at DATA: 554 .*Gtube pattern")
    assert m.maildir_messages(USER) == []
    assert m.queue_files() == []


def test_ordinary_message_delivered_with_rspamds_headers(make_mailbag, rspamd):
    m = make_mailbag(conf={"milters": rspamd, "milter_command_timeout": "60s"})
    sent = m.send(USER, make_message("ham", 1)[1])
    assert sent.code == 250, sent
    data = m.find_message(USER, msgid("ham", 1))
    result = header_values(data, "X-Spamd-Result")
    assert result and "default:" in result[0], data[:1500]
    assert header_values(data, "X-Rspamd-Queue-Id") == [sent.queue_id]
    assert header_values(data, "X-Spam") == []  # not spam: no X-Spam: Yes


def test_spam_scored_message_lands_in_junk(make_mailbag, rspamd):
    m = make_mailbag(conf={"milters": rspamd, "milter_command_timeout": "60s"})
    msg = make_message("spammy", 1)[1].replace(b"Message 1 of spammy.", GTUBE_ADD_HEADER)
    sent = m.send(USER, msg)
    assert sent.code == 250, sent
    m.wait_for_log("smtpd", r"%s: junk: a mail filter's spam verdict" % sent.queue_id)
    junk = os.path.join(m.maildir(USER), ".Junk", "new")
    for _ in range(300):
        names = os.listdir(junk) if os.path.isdir(junk) else []
        if names:
            break
        m.check_alive()
        time.sleep(0.1)
    assert len(names) == 1, "nothing in .Junk"
    data = open(os.path.join(junk, names[0]), "rb").read()
    assert header_values(data, "X-Spam") == ["Yes"], data[:1500]
    assert m.maildir_messages(USER) == []  # not in the inbox
