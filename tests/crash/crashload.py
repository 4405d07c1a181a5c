# The load and the killer shared by the crash tests (test_crash.py, test_crash_remote.py):
# SENDERS SMTP clients that retry until they get 250, each attempt its own message, while
# a second thread kills daemons with SIGKILL at random points of the load and restarts
# them.
import random
import signal
import smtplib
import threading
import time

import harness
from messages import make_message

USER = "demo@example.test"
TOTAL = 1000
SENDERS = 5


class Load:
    """SENDERS threads, each over its own (re)connected SMTP session, send messages
    0..TOTAL-1 taken from one counter. Like a real client, a sender retries a message that
    got a temporary failure (or a broken connection) after a short back-off, until it gets
    250. Every attempt is its own message (Message-ID <crash-N.K@...>), so each attempt's
    fate can be checked on its own: attempts[mid] is 'acked', 'refused NNN' or
    'unknown ...' (the connection broke: the client cannot know)."""

    MAX_ATTEMPTS = 200

    def __init__(self, mb, to=USER, total=TOTAL):
        self.mb = mb
        self.to = to
        self.total = total
        self.lock = threading.Lock()
        self.next = 0
        self.acked_count = 0
        self.attempts = {}  # Message-ID -> status
        self.sent = {}      # Message-ID -> wire bytes
        self.errors = []

    def take(self):
        with self.lock:
            if self.next >= self.total:
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
                    mid, msg = make_message("crash-%d" % n, k, to=self.to)
                    with self.lock:
                        self.sent[mid] = msg
                    try:
                        if s is None:
                            s = self.mb.smtp(timeout=120)
                            s.ehlo()
                        r = self.mb.send(self.to, msg, conn=s, mail_options=["BODY=8BITMIME"])
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


def run_with_kills(mb, load, victims, kills_wanted, restart=None):
    """Runs `load` with SENDERS threads while another thread kills the daemons `victims`
    (in a random rotation) with SIGKILL at `kills_wanted` random points of the load, each
    restarted after a random gap (`restart(name)`, default mb.start_daemon). Returns the
    kills as (acked count, victim, time)."""
    rnd = random.Random()
    restart = restart or mb.start_daemon
    # Kill points: numbers of acknowledged messages, so every kill falls inside the load;
    # each kill also waits for `gap` new acknowledgements after the previous one (while a
    # daemon is down nothing is acknowledged, so points would otherwise pile up there).
    points = sorted(rnd.sample(range(load.total // 20, load.total * 3 // 5), kills_wanted))
    gap = max(1, load.total // (4 * kills_wanted))
    order = list(victims)
    rnd.shuffle(order)
    rotation = [order[i % len(order)] for i in range(kills_wanted)]
    kills = []
    killer_errors = []

    def killer():
        try:
            last = 0
            for point, victim in zip(points, rotation):
                # Never a point the load cannot reach (a slow build, e.g. under ASan, may
                # have gone far while a daemon restarted): the last kills are then skipped.
                point = min(max(point, last + gap), load.total * 9 // 10)
                for _ in harness.deadline_loop(600, "load to reach %d" % point, 0.002, 0.01):
                    with load.lock:
                        if load.acked_count >= point or load.errors:
                            break
                with load.lock:
                    at = load.acked_count
                if load.errors or at > load.total * 9 // 10:
                    return
                mb.kill(victim, signal.SIGKILL)
                last = at
                kills.append((at, victim, time.time()))
                # A random gap before the restart: clients meet a dead daemon for a while.
                time.sleep(rnd.uniform(0, 0.3))
                restart(victim)
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
    # Every victim at least once (the rotation starts with each of them).
    assert len(kills) >= min(kills_wanted, len(victims)), kills
    assert all(n < load.total for n, _, _ in kills), ("a kill came after the load", kills)
    mb.check_alive()
    assert len([m for m, st in load.attempts.items() if st == "acked"]) == load.total
    summary = {}
    for st in load.attempts.values():
        key = " ".join(st.split(" ")[:2]) if st.startswith("refused") else st.split(" ")[0]
        summary[key] = summary.get(key, 0) + 1
    print("kills (after N acked, victim):", [k[:2] for k in kills])
    print("client view of %d attempts:" % len(load.attempts), summary)
    return kills
