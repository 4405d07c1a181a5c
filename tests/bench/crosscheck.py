# `make bench`, the cross-check with Postfix's own load generator: smtp-source -s 20, one
# message of ~4 KB per connection, all to u000 (it cannot spread messages over a set of
# recipients), against each SMTP server of the run; accepted msg/s from its wall time,
# and end to end. Outsiders measure with it, so our load generator's figures are checked
# against it.
import os
import subprocess
import time

import servers
from report import Failure, log


def smtp_source(bench, port, domain, n=2000):
    for name, host, roots, alive, maildirs, logtail in bench.servers_smtp():
        servers.empty_maildirs(maildirs)
        os.sync()
        time.sleep(1.0)
        t0 = time.monotonic()
        r = subprocess.run(["smtp-source", "-s", str(bench.a.sessions), "-m", str(n),
                            "-l", "3900", "-f", "sender@example.net",
                            "-t", "u000@" + domain, "%s:%d" % (host, port)],
                           capture_output=True, text=True, timeout=900)
        t1 = time.monotonic()
        try:
            if r.returncode != 0:
                raise Failure("smtp-source exited %d: %s" % (r.returncode, r.stderr[-500:]))
            end = time.monotonic() + max(60, n / 20)
            while servers.count_messages(maildirs[:1]) < n:
                if time.monotonic() > end or not alive():
                    raise Failure("%d of %d delivered" % (servers.count_messages(maildirs[:1]), n))
                time.sleep(0.02)
            t2 = time.monotonic()
        except Failure as e:
            bench.fail("%s smtp-source cross-check: %s" % (name, e))
            continue
        bench.results.setdefault("smtp_source", {})[name] = {
            "messages": n, "accepted_per_s": n / (t1 - t0), "e2e_per_s": n / (t2 - t0)}
        log("  %-8s smtp-source -s %d -m %d: accepted %.0f/s, end to end %.0f/s"
            % (name, bench.a.sessions, n, n / (t1 - t0), n / (t2 - t0)))
        servers.empty_maildirs(maildirs)
