# smtpd with the real rspamd as a milter (rspamd's proxy worker with `milter = yes`,
# scanning itself), started by the test in a temporary directory on a loopback address:
# no redis, no network (its resolver points at a closed port and the modules that only
# ask the network are off). The GTUBE test message is refused at DATA with rspamd's own
# reply text, so the client gets an SMTP error and no bounce is made; an ordinary message
# is delivered with the headers rspamd adds; a message rspamd's "add header" action marks
# (its X-Spam: Yes) lands in the user's Junk folder.
import os
import time

import pytest

from harness import header_values, unique_loopback, free_port
from messages import make_message, msgid
from rspamd_peer import Rspamd

USER = "demo@example.test"
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# rspamd's test pattern (with enable_test_patterns) for its "add header" action.
GTUBE_ADD_HEADER = b"YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


@pytest.fixture(scope="module")
def rspamd():
    host = unique_loopback()
    r = Rspamd(host, free_port(host))
    try:
        r.start()
        yield r.spec
    finally:
        r.stop()


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
