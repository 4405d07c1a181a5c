# `make bench`, the filtered phase: mail from strangers checked as a site on the Internet
# checks it. Mailbag with its built-in SPF, DKIM and DMARC checks (the checks process,
# answers from a local unbound) and rspamd as its milter, against Postfix with the same
# rspamd as its milter; each on a fresh ext4 image of its own, 4 KB messages from the
# load generator's stranger addresses (127.1.0.x, outside relay_networks), rounds
# alternating. The sender's domain publishes SPF (pass for those addresses) and DMARC
# (p=none); the load generator does not sign, so the DKIM check finds no signature and
# costs its header scan only. rspamd's own CPU per message is reported beside each
# server's, since both servers pay it.
import grp
import os
import pwd

import peers
import procstat
import servers
from remote_peers import Unbound
from report import log
from rspamd_peer import Rspamd

FMB_HOST, FPF_HOST, RSPAMD_HOST, RSPAMD_PORT = "127.0.0.34", "127.0.0.35", "127.0.0.36", 11332
SENDER_DOMAIN = "example.net"  # the load generator's MAIL FROM


def checked(b, maildirs):
    """The round measured what it claims: a delivered message carries the built-in
    checks' verdicts and rspamd's header."""
    for d in maildirs:
        for sub in ("new", "cur"):
            path = os.path.join(d, sub)
            for name in os.listdir(path) if os.path.isdir(path) else []:
                with open(os.path.join(path, name), "rb") as f:
                    head = f.read(8192).split(b"\n\n", 1)[0]
                for want in (b"spf=pass", b"dmarc=pass", b"dkim=none", b"X-Spamd-Result:"):
                    if want not in head:
                        b.fail("filtered: a delivered message lacks %s:\n%s" % (want.decode(), head.decode("latin-1")))
                return
    b.fail("filtered: no delivered message to look at")


def run(b, port, pop3_port, domain, users, n):
    dns = Unbound([SENDER_DOMAIN], [
        '%s. TXT "v=spf1 ip4:127.1.0.0/24 -all"' % SENDER_DOMAIN,
        '_dmarc.%s. TXT "v=DMARC1; p=none"' % SENDER_DOMAIN,
    ]).start()
    rspamd = mb = pf = None
    first_image = len(b.images)
    try:
        log("filtered: starting rspamd (milter mode) on %s:%d" % (RSPAMD_HOST, RSPAMD_PORT))
        rspamd = Rspamd(RSPAMD_HOST, RSPAMD_PORT).start()
        mb_users = [("%s@%s" % (u, domain), "pw-%s" % u) for u in users]
        log("filtered: Mailbag with SPF, DKIM, DMARC and rspamd on %s, Postfix with rspamd on %s"
            % (FMB_HOST, FPF_HOST))
        mb = servers.BenchMailbag(b.a.bin, mb_users, domain, FMB_HOST, port, pop3_port, conf={
            "dns_resolver": dns.address, "relay_networks": "127.0.0.1/32",
            "spf_check": "yes", "dkim_check": "yes", "dmarc_check": "yes",
            "milters": rspamd.spec, "milter_command_timeout": "60s"},
            base_dir=b.image("mailbag-filtered").mountpoint)
        mb.start()
        pf = peers.Postfix(users, domain, FPF_HOST, port, pwd.getpwnam("mb-vmail").pw_uid,
                           grp.getgrnam("mb-mail").gr_gid, base_dir=b.image("postfix-filtered").mountpoint,
                           extra_main={"smtpd_milters": rspamd.spec, "milter_default_action": "tempfail",
                                       "milter_command_timeout": "60s"})
        pf.setup()
        pf.start()
        contenders = [
            ("mailbag", FMB_HOST, mb.roots, lambda: all(mb.alive(x) for x in mb.procs),
             [mb.maildir_path(u) for u in users], lambda: mb.logs("smtpd")[-3000:]),
            ("postfix", FPF_HOST, pf.roots, pf.alive, [pf.maildir(u) for u in users], pf.log_tail),
        ]
        for rnd in range(1, min(b.a.rounds, 3) + 1):
            log("filtered round %d, 4096-byte messages" % rnd)
            for c in contenders:
                cpu0 = procstat.cpu_seconds(procstat.descendants([rspamd.proc.pid]))
                rec = b.smtp_round(*c, size=4096, n=n, rnd=rnd, phase="filtered", cpu_by_daemon=False)
                cpu1 = procstat.cpu_seconds(procstat.descendants([rspamd.proc.pid]))
                rec["rspamd_cpu_ms_per_msg"] = (cpu1 - cpu0) / n * 1e3
                log("           rspamd cpu %.3f ms/msg" % rec["rspamd_cpu_ms_per_msg"])
                if c[0] == "mailbag" and "failed" not in rec:
                    checked(b, c[4])
                servers.empty_maildirs(c[4])
    finally:
        for s in (pf, mb):
            if s is not None:
                s.cleanup()
        if rspamd is not None:
            rspamd.stop()
        dns.stop()
        for fs in b.images[first_image:]:
            fs.close()
        del b.images[first_image:]
