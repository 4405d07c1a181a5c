# Bug: with the spool's file system full, smtpd answered a small message's end of DATA
# (and the DATA command when not even the queue file could be created) with
# "451 4.3.0 queue file write error" instead of "452 4.3.1 insufficient system storage".
# Cause: a message under 64 KiB is written only by QueueFileWriter::finish(), whose
# error smtpd/session.cpp mapped to 451 4.3.0 without looking at errno (ENOSPC was only
# recognised for writes during DATA); the O_TMPFILE create at DATA likewise.
# Fix: smtpd/session.cpp storage_full(): ENOSPC and EDQUOT give 452 4.3.1 wherever the
# queue file fails (RFC 5321 4.2.5 452; RFC 3463 3.4 X.3.1 "mail system full").
# Unit test for the create case: smtpd/session_test.cpp "no room for the queue file".
import pytest

import harness
from faults_support import fill, status_of, tmpfs  # noqa: F401

pytestmark = pytest.mark.skipif(not harness.is_root(), reason="needs root: mounts a tmpfs")


def test_small_message_on_a_full_spool_gets_452_4_3_1(make_mailbag, tmpfs):
    m = make_mailbag(start=False)
    tmpfs(m.spool, "2m", mode="0755")
    m.start()
    fill(m.spool)
    r = m.send("demo@example.test", b"Subject: small\r\n\r\nfits in the writer's buffer\r\n")
    assert status_of(r) == (452, "4.3.1"), r
