# The administrator's filtering rules (mailctl(8) "rule", smtpd(8) "Filtering rules"):
# each kind refused with its reply and one log line, an allow rule wins over a reject
# rule, a rule limited to a recipient domain refuses at RCPT, relay_networks clients are
# exempt, and `mailctl rule del` takes effect at once, without restarting smtpd.
import re

import harness
from messages import make_message

DEMO = "demo@example.test"
PASSWORD = "demo-secret"


def strangers(make_mailbag, **conf):
    c = {"relay_networks": "10.0.0.0/8"}  # the 127.x clients are strangers here
    c.update(conf)
    return make_mailbag(users=((DEMO, PASSWORD),), conf=c)


def test_sender_and_client_rules(make_mailbag):
    m = strangers(make_mailbag)
    smtpd_pid = m.procs["smtpd"].pid
    out = m.mailctl("rule", "add", "sender", "@Spam.Example", "reject").stdout
    assert "added rule: sender *@spam.example reject" in out, out
    m.mailctl("rule", "add", "sender", "Friend@spam.example", "allow")
    m.mailctl("rule", "add", "sender", "*@scoped.example", "reject", "example.test")
    m.mailctl("rule", "add", "sender", "*@*.bücher.example", "reject")
    bad = m.mailctl("rule", "add", "sender", "no-at-sign", "reject", check=False)
    assert bad.returncode == 2 and "needs an '@'" in bad.stderr, bad.stderr
    listing = m.mailctl("rule", "list").stdout.splitlines()
    assert "sender *@spam.example reject" in listing and "sender friend@spam.example allow" in listing
    assert "sender *@*.xn--bcher-kva.example reject" in listing, listing

    _, msg = make_message("rules", 1)
    r = m.send(DEMO, msg, mail_from="Someone@SPAM.example")
    assert r.code == 550 and r.text.startswith(b"5.7.1") and b"sender rule" in r.text, r
    assert b"spam.example" not in r.text  # the kind, not the rule
    line = m.wait_for_log("smtpd", r"NOQUEUE: rule: client=\[[0-9.]+\] sender=<Someone@spam.example> "
                                   r"rule=sender-block")
    assert line
    assert m.send(DEMO, msg, mail_from="x@mail.bücher.example", mail_options=("SMTPUTF8",)).code == 550

    # An allow rule wins over the reject rule for the same sender.
    r = m.send(DEMO, msg, mail_from="friend@spam.example")
    assert r.code == 250, r
    m.wait_for_log("smtpd", r"rule: client=\S+ sender=<friend@spam.example> rule=sender-allow")

    # A rule for one recipient domain: MAIL passes, RCPT in that domain is refused.
    r = m.send(DEMO, msg, mail_from="a@scoped.example")
    assert r.code == 550 and r.rcpt_replies[0][0] == 550 and r.rcpt_replies[0][1].startswith(b"5.7.1"), r
    m.wait_for_log("smtpd", r"rule: client=\S+ sender=<a@scoped.example> rule=sender-block rcpt=<demo@")

    # A client network: 554 5.7.1 at MAIL, other clients pass.
    ip = harness.unique_loopback()
    m.mailctl("rule", "add", "client", ip + "/32", "reject")
    s = m.smtp_from(ip)
    code, text = s.mail("ok@example.net")
    assert code == 554 and text.startswith(b"5.7.1") and b"client network rule" in text, (code, text)
    s.quit()
    m.wait_for_log("smtpd", r"NOQUEUE: rule: client=\[%s\] sender=<ok@example.net> rule=client-block"
                   % re.escape(ip))
    assert m.send(DEMO, msg, mail_from="ok@example.net").code == 250

    # del takes effect for the next transaction, with the same smtpd.
    m.mailctl("rule", "del", "sender", "@spam.example")
    assert m.send(DEMO, msg, mail_from="someone@spam.example").code == 250
    m.mailctl("rule", "del", "client", ip, "reject")
    s = m.smtp_from(ip)
    assert s.mail("ok@example.net")[0] == 250
    s.quit()
    r = m.mailctl("rule", "del", "client", ip, check=False)
    assert r.returncode == 2 and "no such rule" in r.stderr, r.stderr
    assert m.procs["smtpd"].pid == smtpd_pid
    m.check_alive()


def test_rules_spare_relay_networks(make_mailbag):
    m = make_mailbag(users=((DEMO, PASSWORD),))  # relay_networks: 127.0.0.0/8 by default
    m.mailctl("rule", "add", "sender", "@spam.example", "reject")
    _, msg = make_message("rules", 2)
    assert m.send(DEMO, msg, mail_from="someone@spam.example").code == 250
