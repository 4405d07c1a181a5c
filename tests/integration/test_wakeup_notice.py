# The site side's wake-up failure notice (wakeup_failure_notice, mailbag.conf(5)): a
# site whose remote asks a backup Mailbag with ETRN (RFC 1985) every second gets exactly
# one notice mail after three failed wake-ups in a row (nothing answers), none for the
# failures after it, and exactly one more when the backup answers again.
import re

import harness


def subjects(m, user):
    out = []
    for data in m.read_messages(user).values():
        match = re.search(rb"^Subject: (.*)$", data, re.M)
        out.append(match.group(1).decode().strip() if match else "")
    return sorted(out)


def test_one_notice_after_three_failures_and_one_when_it_works_again(make_mailbag):
    backup = make_mailbag(start=False, users=(("admin@backup.test", "admin-secret"),), domains=("backup.test",),
                          conf={"relay_domains": "example.test"})
    host = "%s:%d" % (backup.host, backup.port)  # as remote names it
    site = make_mailbag(conf={"etrn_hosts": "[%s]:%d" % (backup.host, backup.port), "etrn_domains": "example.test", "wakeup_every": "1s",
                              "wakeup_failure_notice": "3", "postmaster_address": "demo@example.test",
                              "remote_timeout": "5s"})
    site.start_daemon("remote")
    site.wait_for_log("remote", r"wake-up at %s: 3 failures in a row; notice to demo@example.test" % re.escape(host))
    site.wait_for_messages("demo@example.test", 1)
    assert subjects(site, "demo@example.test") == ["wake-up at %s failing" % host]
    body = list(site.read_messages("demo@example.test").values())[0]
    assert b"Auto-Submitted: auto-generated" in body  # RFC 3834 5
    assert b"Connection refused" in body
    assert b"mailctl etrn" in body
    # More failures: no more mail.
    for _ in harness.deadline_loop(30, "six failed wake-ups"):
        if len(re.findall(r"ETRN: cannot reach", site.logs("remote"))) >= 6:
            break
    assert len(site.maildir_messages("demo@example.test")) == 1

    backup.start()  # the backup answers again
    site.wait_for_log("remote", r"wake-up at %s: works again" % re.escape(host))
    site.wait_for_messages("demo@example.test", 2)
    for _ in harness.deadline_loop(30, "two more good wake-ups"):
        if len(re.findall(r"ETRN example\.test at .*: 25[0-3] ", site.logs("remote"))) >= 3:
            break
    assert subjects(site, "demo@example.test") == sorted(["wake-up at %s failing" % host,
                                                           "wake-up at %s works again" % host])
    assert len(re.findall(r"wake-up at .*; notice to demo@example\.test", site.logs("remote"))) == 2
    assert len(re.findall(r"wake-up notice to demo@example\.test sent: 250 ", site.logs("remote"))) == 2
