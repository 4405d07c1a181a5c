# Bug: the poison-message guard did not work for a message that had waited for an agent.
# A message whose delivery agent dies twice while delivering it is to be deferred like a
# temporary failure ("so that one message that kills the agent cannot keep it in a crash
# loop", queue-manager/dispatch.cpp). But a message queued while no agent was connected
# kept its "waited for an agent" mark for the whole round, and end_round() re-dispatched
# such a message at once instead of deferring it: every restarted agent got it again
# immediately, forever.
# Fix: queue-manager/dispatch.cpp dispatch_one() clears a transport's waiting mark when
# the message goes to an agent of that transport.
import json
import os
import shutil
import subprocess

import pytest

import harness

AGENT = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
import ipc_wire as w
times = []
for _ in range(3):
    sock = w.connect(sys.argv[2], timeout=20)
    w.send(sock, w.hello("mailbag-deliver", "local"))
    w.recv(sock)
    while True:
        t, payload, fds = w.recv(sock)
        for fd in fds:
            os.close(fd)
        if t == w.DELIVER:
            times.append(time.monotonic())
            break
    sock.close()  # dies with the delivery in hand
print(json.dumps(times))
"""


@pytest.mark.skipif(harness.is_root() and not shutil.which("setpriv"), reason="needs setpriv")
def test_message_that_waited_is_deferred_after_two_agent_deaths(make_mailbag):
    m = make_mailbag(conf={"queue_retry_min": "3s", "queue_retry_max": "6s"})
    m.kill("local")
    r = m.send("demo@example.test", b"Subject: poison\r\n\r\nkills every agent\r\n")
    assert r.code == 250
    args = ["/usr/bin/python3", "-c", AGENT, os.path.join(harness.REPO, "tests", "integration"),
            os.path.join(m.spool, "private", "local")]
    if harness.is_root():
        args = ["setpriv", "--reuid=mb-vmail", "--regid=mb-mail", "--groups=mb-acct,mb-drop", "--"] + args
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    t1, t2, t3 = json.loads(p.stdout)
    # The first death is retried at once; after the second the message waits for its
    # retry time (queue_retry_min = 3s) instead of going straight to the next agent.
    assert t3 - t2 >= 1.5, "re-dispatched %.3f s after the second agent death" % (t3 - t2)
    m.start_daemon("local")
    m.wait_for_messages("demo@example.test", 1, timeout=30)
