# Damaged queue files (fault injection): whatever lies in spool/queue when the
# queue manager starts -- garbage, a truncated file, an empty one, a name that is not a
# queue id, a symlink, a FIFO, a directory, an envelope that never ends, a file whose size
# disagrees with its state record -- is moved aside to spool/corrupt/ with a log line
# (queue-manager/recovery.cpp), and the queue manager carries on: the intact messages
# are delivered and new mail flows. A file damaged while the queue manager runs is moved
# aside when it is next handed to an agent (queue-manager/dispatch.cpp).
import os
import re

import harness
from messages import make_message
from remote_peers import new_queue_id

USER = "demo@example.test"


def test_damaged_queue_files_are_moved_aside_and_the_rest_is_delivered(make_mailbag):
    # local fails every Maildir write at first, so both messages are deferred and get a
    # state record in state/queue.mdb.
    m = make_mailbag(env={"MAILBAG_FAULTS": "local.write:fail"})
    sent = {}
    for n in range(2):
        mid, msg = make_message("corrupt", n)
        r = m.send(USER, msg)
        assert r.code == 250, r
        sent[mid] = r.queue_id
    for qid in sent.values():
        m.wait_for_log("local", r"%s: to=<%s>, .*status=deferred" % (qid, re.escape(USER)))
    m.kill("local")
    m.kill("queue-manager")
    intact, truncated = list(sent.values())

    q = os.path.join(m.spool, "queue")
    bad = {}

    def put(name, data):
        with open(os.path.join(q, name), "wb") as f:
            f.write(data)
        bad[name] = "file"

    # Truncated behind the queue manager's back: its state record says otherwise.
    with open(os.path.join(q, truncated), "r+b") as f:
        f.truncate(os.path.getsize(os.path.join(q, truncated)) // 2)
    bad[truncated] = "file"
    put(new_queue_id(), os.urandom(4096))                        # garbage
    put(new_queue_id(), b"")                                     # empty
    put("not-a-queue-id", b"MBQ1\n")                             # stray name
    put(new_queue_id(), b"MBQ1\nI " + b"A" * (2 << 20))          # an envelope that never ends
    with open(os.path.join(q, intact), "rb") as f:               # a valid file under another id
        put(new_queue_id(), f.read())
    with open(os.path.join(q, intact), "rb") as f:               # ... and cut short
        whole = f.read()
    cut = new_queue_id()
    put(cut, whole.replace(intact.encode(), cut.encode(), 1)[:-10])
    link = new_queue_id()
    os.symlink("/etc/passwd", os.path.join(q, link))
    bad[link] = "symlink"
    fifo = new_queue_id()
    os.mkfifo(os.path.join(q, fifo))
    bad[fifo] = "fifo"
    d = new_queue_id()
    os.mkdir(os.path.join(q, d))
    bad[d] = "directory"
    # As if the queue manager's own user had left them there (a directory can only be
    # moved to another parent by a user who may write into it).
    uid = harness.uid_of("mb-queue") if harness.is_root() else os.getuid()
    for name in bad:
        os.lchown(os.path.join(q, name), uid, -1)

    m.env = {}
    m.start_daemon("queue-manager")
    line = m.wait_for_log("queue-manager", r"queue recovered in .*: 1 messages .*, %d damaged" % len(bad))
    assert m.queue_files() == [intact], (m.queue_files(), line)
    corrupt = os.listdir(os.path.join(m.spool, "corrupt"))
    for name in bad:
        assert any(c.startswith(name + ".") for c in corrupt), (name, corrupt)
        assert re.search(r"%s: damaged queue file moved to corrupt/%s\.\d+: " % (re.escape(name), re.escape(name)),
                         m.logs("queue-manager")), name
    assert os.path.exists("/etc/passwd")  # the symlink was moved, not followed

    # The queue manager carries on: the intact message goes out, new mail flows.
    m.start_daemon("local")
    mids = {qid: mid for mid, qid in sent.items()}
    m.find_message(USER, mids[intact])
    mid, msg = make_message("corrupt", 99)
    assert m.send(USER, msg).code == 250
    m.find_message(USER, mid)
    m.wait_queue_empty()
    assert len(m.maildir_messages(USER)) == 2
    m.check_alive()


def test_queue_file_damaged_while_queued_is_moved_aside_at_delivery(mb):
    # Damaged while the queue manager runs: it notices when it hands the file to an agent
    # (the size no longer matches the envelope), moves it aside and carries on.
    mb.kill("local")
    r = mb.send(USER, make_message("cut-while-queued", 1)[1])
    assert r.code == 250
    path = os.path.join(mb.spool, "queue", r.queue_id)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 100)
    mb.start_daemon("local")
    mb.wait_for_log("queue-manager", r"%s: damaged queue file moved to corrupt/%s\.\d+: size no longer matches"
                    % (r.queue_id, r.queue_id))
    assert r.queue_id not in mb.queue_files()
    assert [c for c in os.listdir(os.path.join(mb.spool, "corrupt")) if c.startswith(r.queue_id)]
    mid, msg = make_message("after-cut", 1)
    assert mb.send(USER, msg).code == 250
    mb.find_message(USER, mid)
    assert len(mb.maildir_messages(USER)) == 1  # nothing partial was delivered
    mb.check_alive()
