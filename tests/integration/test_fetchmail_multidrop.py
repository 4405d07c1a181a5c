# Receiving from an ISP mailbox: a site without its own MX has all mail for its domain
# dropped into one POP3 mailbox at the provider (a catch-all), and fetchmail pulls that
# "multidrop" mailbox into the site's Mailbag, sorting each message to the right users by
# the envelope recipient the provider recorded. Here the provider is a Mailbag too (its
# local delivery writes X-Original-To, as Postfix does) and fetchmail is the real program
# with the configuration README shows. The point of the envelope header: a Bcc recipient
# gets the message and a To: recipient who was not in the envelope does not.
import os
import subprocess

import harness
from harness import header_values
from messages import make_message

DROPBOX = ("dropbox@isp.test", "pw-dropbox")
BOB = "bob@site.test"
CAROL = "carol@site.test"


def test_fetchmail_sorts_a_multidrop_mailbox_by_envelope_recipient(make_mailbag, tmp_path):
    isp = make_mailbag(users=(DROPBOX,), domains=("isp.test", "site.test"))
    isp.mailctl("domain", "set", "site.test", "catchall=" + DROPBOX[0])
    isp.start_pop3d()
    site = make_mailbag(users=((BOB, "pw-bob"), (CAROL, "pw-carol")), domains=("site.test",))

    mid1, msg1 = make_message("multidrop", 1, to=BOB)
    mid2, msg2 = make_message("multidrop", 2, to=BOB)
    mid3, msg3 = make_message("multidrop", 3, to=CAROL)  # Bcc'd to bob alone
    assert isp.send(BOB, msg1).code == 250
    assert isp.send([BOB, CAROL], msg2).code == 250
    assert isp.send(BOB, msg3).code == 250
    isp.wait_queue_empty()
    held = list(isp.read_messages(DROPBOX[0]).values())
    # One copy per envelope recipient, each saying whom it was for.
    assert sorted(header_values(d, "X-Original-To")[0] for d in held) == sorted([BOB, BOB, CAROL, BOB])
    assert all(header_values(d, "Delivered-To") == [DROPBOX[0]] for d in held)

    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        "set no bouncemail\n"
        "poll %s protocol pop3 port %d envelope X-Original-To localdomains site.test\n"
        "  user \"%s\" password \"%s\" is * here\n"
        "  sslproto tls1.2+ sslcertck sslcertfile %s sslcommonname mail.example.test\n"
        "  smtphost %s/%d smtpaddress site.test dropdelivered\n"
        % (isp.host, isp.ports["pop3_listen"], DROPBOX[0], DROPBOX[1],
           os.path.join(isp.dir, "cert.pem"), site.host, site.port))
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(tmp_path), FETCHMAILHOME=str(tmp_path))
    r = subprocess.run(["fetchmail", "-f", str(rc), "--nodetach", "--nosyslog", "-v"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, (r.stdout, r.stderr)

    for user, mids in ((BOB, (mid1, mid2, mid3)), (CAROL, (mid2,))):
        site.wait_for_messages(user, len(mids))
    site.wait_queue_empty()
    got = {u: list(site.read_messages(u).values()) for u in (BOB, CAROL)}
    assert sorted(harness.message_id(d) for d in got[BOB]) == sorted([mid1, mid2, mid3])
    assert [harness.message_id(d) for d in got[CAROL]] == [mid2]
    for data in got[BOB] + got[CAROL]:
        # The provider's Delivered-To is dropped (else the site could see a loop); the
        # site adds its own, and the body arrives as it was sent.
        assert DROPBOX[0] not in header_values(data, "Delivered-To")
        sent = {mid1: msg1, mid2: msg2, mid3: msg3}[harness.message_id(data)]
        assert data.split(b"\n\n", 1)[1] == sent.split(b"\r\n\r\n", 1)[1].replace(b"\r\n", b"\n")
    assert isp.maildir_messages(DROPBOX[0]) == []  # fetched and deleted
