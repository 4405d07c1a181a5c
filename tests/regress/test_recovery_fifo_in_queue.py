# Bug: a FIFO in spool/queue (named like a queue id) hung the queue manager at start:
# recovery opened every file without a state record with a blocking open(2), which on a
# FIFO waits for a writer forever, so no mail was ever delivered again.
# Fix: queue-manager/recovery.cpp opens with O_NONBLOCK; read_envelope() then refuses
# the FIFO (not a regular file) and it is moved to spool/corrupt/ like any damaged file.
import os

import harness
from remote_peers import new_queue_id


def test_fifo_in_the_queue_is_moved_aside_at_start(mb):
    mb.kill("queue-manager")
    name = new_queue_id()
    os.mkfifo(os.path.join(mb.spool, "queue", name))
    if os.geteuid() == 0:
        os.chown(os.path.join(mb.spool, "queue", name), __import__("pwd").getpwnam("mb-queue").pw_uid, -1)
    mb.start_daemon("queue-manager")
    mb.wait_for_log("queue-manager", r"%s: damaged queue file moved to corrupt/.*not a regular file" % name,
                    timeout=10)
    # smtpd reconnects to the new queue manager within a second; until then it says 451.
    for _ in harness.deadline_loop(10, "250 from smtpd"):
        if mb.send("demo@example.test", b"Subject: after\r\n\r\nstill working\r\n").code == 250:
            break
    mb.wait_for_messages("demo@example.test", 1)
