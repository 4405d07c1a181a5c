# Crash recovery under load: while 5 SMTP clients submit 1000 messages (retrying, as real
# clients do, whatever got a temporary failure), the queue manager, the local delivery
# agent and smtpd are killed in turn with SIGKILL at random points of the load and
# restarted (test_crash_remote.py does the same for the remote agent). Every
# submission attempt carries its own Message-ID. Afterwards:
#   - every attempt that got 250 is in the Maildir exactly once, byte for byte;
#   - no file in new/ or cur/ is partial (each is a complete copy of a sent message);
#   - an attempt that did NOT get 250 may still be delivered, complete and at most once.
#     That is the duplicate window of RFC 5321 6.1: the queue manager can make a message
#     durable and die before smtpd sends 250; the client then retries and the recipient
#     sees the message twice. Mailbag never loses an acknowledged message; it may deliver
#     one the client thinks failed.
import harness
from crashload import USER, Load, run_with_kills
from harness import message_id

KILLS = 9  # queue-manager, local and smtpd in turn, at random points of the load
VICTIMS = ("queue-manager", "local", "smtpd")


def test_kill9_each_daemon_during_load(make_mailbag):
    mb = make_mailbag()
    load = Load(mb)
    kills = run_with_kills(mb, load, VICTIMS, KILLS)
    assert {v for _, v, _ in kills} == set(VICTIMS), kills

    acked = {m for m, st in load.attempts.items() if st == "acked"}
    not_acked = set(load.attempts) - acked

    def delivered_ids():
        return [message_id(d) for d in mb.read_messages(USER).values()]

    for _ in harness.deadline_loop(
            120, lambda: "acknowledged messages to arrive (missing: %s; still in the queue: %s)"
            % (sorted(acked - set(delivered_ids()))[:10], mb.queue_files()[:10])):
        if acked <= set(delivered_ids()):
            break
        mb.check_alive()
    # Then let anything else in the queue (durable but unacknowledged) finish too.
    mb.wait_queue_empty(timeout=120)

    stored = mb.read_messages(USER)
    counts = {}
    for path, data in stored.items():
        mid = message_id(data)
        assert mid in load.sent, "unknown or partial file %s: %r" % (path, data[:300])
        # Complete and unaltered: the sent message under our trace headers.
        harness.added_prefix(data, load.sent[mid])
        counts[mid] = counts.get(mid, 0) + 1
    missing = acked - set(counts)
    dup_acked = {m: c for m, c in counts.items() if m in acked and c != 1}
    dup_other = {m: c for m, c in counts.items() if m in not_acked and c > 1}
    print("delivered without 250 (RFC 5321 6.1 window):",
          sorted(m for m in counts if m in not_acked))
    problems = []
    if missing:
        problems.append("%d acknowledged but lost: %s" % (len(missing), sorted(missing)[:20]))
    if dup_acked:
        problems.append("%d acknowledged and delivered more than once: %s"
                        % (len(dup_acked), sorted(dup_acked.items())[:20]))
    if dup_other:
        problems.append("%d unacknowledged and delivered more than once: %s"
                        % (len(dup_other), sorted(dup_other.items())[:20]))
    assert not problems, "\n".join(problems)
