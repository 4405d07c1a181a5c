# Crash recovery under load: while 5 SMTP clients submit 500 messages (retrying, as real
# clients do, whatever got a temporary failure), the queue manager and the local delivery
# agent are killed with SIGKILL at random points of the load and restarted. Every
# submission attempt carries its own Message-ID. Afterwards:
#   - every attempt that got 250 is in the Maildir exactly once, byte for byte;
#   - no file in new/ or cur/ is partial (each is a complete copy of a sent message);
#   - an attempt that did NOT get 250 may still be delivered, complete and at most once.
#     That is the duplicate window of RFC 5321 6.1: the queue manager can make a message
#     durable and die before smtpd sends 250; the client then retries and the recipient
#     sees the message twice. Mailbag never loses an acknowledged message; it may deliver
#     one the client thinks failed.
import random
import signal
import smtplib
import threading
import time

import harness
from harness import message_id
from messages import make_message

USER = "demo@example.test"
TOTAL = 500
SENDERS = 5
KILLS = 8  # alternating queue-manager and local, at random points of the load


class Load:
    """SENDERS threads, each over its own (re)connected SMTP session, send messages
    0..TOTAL-1 taken from one counter. Like a real client, a sender retries a message that
    got a temporary failure (or a broken connection) after a short back-off, until it gets
    250. Every attempt is its own message (Message-ID <crash-N.K@...>), so each attempt's
    fate can be checked on its own: attempts[mid] is 'acked', 'refused NNN' or
    'unknown ...' (the connection broke: the client cannot know)."""

    MAX_ATTEMPTS = 200

    def __init__(self, mb):
        self.mb = mb
        self.lock = threading.Lock()
        self.next = 0
        self.acked_count = 0
        self.attempts = {}  # Message-ID -> status
        self.sent = {}      # Message-ID -> wire bytes
        self.errors = []

    def take(self):
        with self.lock:
            if self.next >= TOTAL:
                return None
            self.next += 1
            return self.next - 1

    def record(self, mid, status):
        with self.lock:
            self.attempts[mid] = status
            if status == "acked":
                self.acked_count += 1

    def run_sender(self):
        s = None
        rnd = random.Random()
        try:
            while True:
                n = self.take()
                if n is None:
                    break
                for k in range(self.MAX_ATTEMPTS):
                    mid, msg = make_message("crash-%d" % n, k)
                    with self.lock:
                        self.sent[mid] = msg
                    try:
                        if s is None:
                            s = self.mb.smtp(timeout=120)
                            s.ehlo()
                        r = self.mb.send(USER, msg, conn=s, mail_options=["BODY=8BITMIME"])
                        status = "acked" if r.code == 250 else "refused %d" % r.code
                        if r.code == 421:
                            s.close()
                            s = None
                    except (smtplib.SMTPException, OSError) as e:
                        status = "unknown %r" % e
                        if s is not None:
                            s.close()
                        s = None
                    self.record(mid, status)
                    if status == "acked":
                        break
                    if status.startswith("refused 5"):
                        raise AssertionError("permanent failure for %s: %s" % (mid, status))
                    time.sleep(rnd.uniform(0.02, 0.1))  # client back-off before the retry
                else:
                    raise AssertionError("message %d: no 250 after %d attempts"
                                         % (n, self.MAX_ATTEMPTS))
            if s is not None:
                try:
                    s.quit()
                except (smtplib.SMTPException, OSError):
                    s.close()
        except Exception as e:  # reported by the test
            self.errors.append(repr(e))


def test_kill9_queue_manager_and_local_during_load(make_mailbag):
    mb = make_mailbag()
    load = Load(mb)
    rnd = random.Random()
    # Kill points: numbers of acknowledged messages, so every kill falls inside the load.
    points = sorted(rnd.sample(range(TOTAL // 20, TOTAL - TOTAL // 20), KILLS))
    first = rnd.choice(["queue-manager", "local"])
    other = "local" if first == "queue-manager" else "queue-manager"
    victims = [first if i % 2 == 0 else other for i in range(KILLS)]
    kills = []
    killer_errors = []

    def killer():
        try:
            for point, victim in zip(points, victims):
                for _ in harness.deadline_loop(600, "load to reach %d" % point, 0.002, 0.01):
                    with load.lock:
                        if load.acked_count >= point or load.errors:
                            break
                if load.errors:
                    return
                mb.kill(victim, signal.SIGKILL)
                kills.append((load.acked_count, victim))
                # A random gap before the restart: clients meet a dead daemon for a while.
                time.sleep(rnd.uniform(0, 0.3))
                mb.start_daemon(victim)
        except Exception as e:
            killer_errors.append(repr(e))

    kt = threading.Thread(target=killer)
    senders = [threading.Thread(target=load.run_sender) for _ in range(SENDERS)]
    kt.start()
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    kt.join()
    assert not load.errors, load.errors
    assert not killer_errors, killer_errors
    assert len(kills) == KILLS, kills
    mb.check_alive()

    acked = {m for m, st in load.attempts.items() if st == "acked"}
    not_acked = set(load.attempts) - acked
    assert len(acked) == TOTAL
    summary = {}
    for st in load.attempts.values():
        key = " ".join(st.split(" ")[:2]) if st.startswith("refused") else st.split(" ")[0]
        summary[key] = summary.get(key, 0) + 1
    print("kills (after N acked, victim):", kills)
    print("client view of %d attempts:" % len(load.attempts), summary)

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
