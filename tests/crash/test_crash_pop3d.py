# pop3d killed with SIGKILL while a client fetches and deletes (RFC 1939): 200 messages
# in a Maildir; a POP3 client logs in again and again, RETRs and DELEs up to 20 messages
# and QUITs, while pop3d is killed 4 times at random points and restarted. Afterwards no
# message is lost: each one is still in the Maildir or was retrieved by the client, and
# none whose deletion pop3d acknowledged (+OK to QUIT: the UPDATE state, RFC 1939 6) is
# still there. Killed before that, the deletions of the session simply do not happen.
import poplib
import random
import signal
import ssl
import threading
import time

import harness
from harness import message_id
from messages import make_message

USER = "demo@example.test"
TOTAL = 200
KILLS = 4


def test_kill9_pop3d_while_a_client_fetches_and_deletes(mb):
    sent = set()
    s = mb.smtp()
    s.ehlo()
    for n in range(TOTAL):
        mid, msg = make_message("pop3-crash", n)
        assert mb.send(USER, msg, conn=s).code == 250
        sent.add(mid)
    s.quit()
    mb.wait_for_messages(USER, TOTAL)
    mb.start_pop3d()
    port = mb.ports["pop3_listen"]

    tls = ssl.create_default_context(cafile=mb.conf["tls_cert_file"])
    tls.check_hostname = False
    retrieved = set()     # Message-IDs the client has read in full
    deleted_acked = set()  # ... and whose deletion pop3d confirmed
    state = {"done": False, "sessions": 0, "errors": [], "stop": False, "interrupted": 0}

    def client():
        try:
            while not state["stop"]:
                try:
                    p = poplib.POP3(mb.host, port, timeout=10)
                    p.stls(tls)  # no password in clear
                    p.user(USER)
                    p.pass_("demo-secret")
                    count = p.stat()[0]
                    if count == 0:
                        p.quit()
                        state["done"] = True
                        return
                    batch = []
                    state["batch"] = batch
                    for i in range(1, min(count, 20) + 1):
                        data = b"\n".join(p.retr(i)[1])
                        mid = message_id(data.replace(b"\r", b""))
                        retrieved.add(mid)
                        p.dele(i)
                        batch.append(mid)
                        time.sleep(0.01)  # a client on a slow link: the kills land mid-session
                    p.quit()  # raises unless +OK: the deletions are done
                    state["batch"] = None
                    deleted_acked.update(batch)
                    state["sessions"] += 1
                except (poplib.error_proto, OSError, EOFError) as e:
                    state["last_error"] = repr(e)
                    if state.get("batch"):
                        state["interrupted"] += 1  # killed after RETR and DELE, before +OK to QUIT
                    state["batch"] = None
                    time.sleep(0.05)  # pop3d is down or the mailbox is locked: again
        except Exception as e:  # reported by the test
            state["errors"].append(repr(e))

    t = threading.Thread(target=client)
    t.start()
    rnd = random.Random()
    kills = []
    try:
        for _ in range(KILLS):
            start = state["sessions"]
            for _ in harness.deadline_loop(30, lambda: "the client to get through a session (last error: %s)"
                                           % state.get("last_error")):
                if state["sessions"] > start or state["done"]:
                    break
            if state["done"]:
                break
            time.sleep(rnd.uniform(0.02, 0.25))  # somewhere in the next session
            mb.kill("pop3d", signal.SIGKILL)
            kills.append(len(deleted_acked))
            time.sleep(rnd.uniform(0, 0.2))
            mb.start_daemon("pop3d")
    finally:
        if not state["done"] and (len(kills) < KILLS):
            state["stop"] = True
        t.join(120)
    assert not t.is_alive(), "the client never emptied the mailbox"
    assert not state["errors"], state["errors"]
    assert len(kills) >= 2, ("the mailbox emptied before the kills", kills)

    present = {message_id(d) for d in mb.read_messages(USER).values()}
    lost = sent - present - retrieved
    assert not lost, "%d messages lost: %s" % (len(lost), sorted(lost)[:10])
    assert not (deleted_acked & present), sorted(deleted_acked & present)[:10]
    assert retrieved <= sent
    print("kills after N acknowledged deletions:", kills, "; sessions:", state["sessions"],
          "; sessions cut after RETR and DELE:", state["interrupted"])
    assert state["interrupted"] >= 1, "no kill landed inside a session"
    mb.check_alive()
