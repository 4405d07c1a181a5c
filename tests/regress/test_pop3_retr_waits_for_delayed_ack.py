# Bug: each RETR took about 40 ms on an idle machine: a client that sends one command at
# a time (poplib, fetchmail, most mail readers) fetched at most 25 messages a second.
# Cause: pop3d answers RETR in two writes, the +OK line and then the message (read by
# the disk thread); with Nagle's algorithm the second write waits until the client ACKs
# the first, and the client delays that ACK by up to 40 ms (write-write-read).
# Fix: pop3d/server.cpp sets TCP_NODELAY on every accepted connection.
import poplib
import ssl
import time

from messages import make_message

USER = "demo@example.test"
N = 40


def test_retr_one_at_a_time_is_not_held_by_nagle(mb):
    s = mb.smtp()
    s.ehlo()
    for n in range(N):
        assert mb.send(USER, make_message("nagle", n)[1], conn=s).code == 250
    s.quit()
    mb.wait_for_messages(USER, N)
    mb.start_pop3d()
    tls = ssl.create_default_context(cafile=mb.conf["tls_cert_file"])
    tls.check_hostname = False
    p = poplib.POP3(mb.host, mb.ports["pop3_listen"], timeout=10)
    p.stls(tls)
    p.user(USER)
    p.pass_("demo-secret")
    t0 = time.monotonic()
    for i in range(1, N + 1):
        p.retr(i)
    elapsed = time.monotonic() - t0
    p.quit()
    # With the bug: at least N x 40 ms = 1.6 s. Without: a few milliseconds.
    assert elapsed < 0.8, "%d RETRs took %.2f s" % (N, elapsed)
