# rspamd as a milter, started from a private config directory: the proxy worker in milter
# mode scanning itself (no separate normal worker), no redis, no network (its resolver
# points at a closed port and the modules that only ask the network are off), test
# patterns on (GTUBE and its "add header" twin). Used by the milter tests and by
# `make bench`'s filtered phase; stop() kills its whole process group.
import os
import shutil
import socket
import subprocess
import tempfile
import time

import harness

# Modules whose only work is asking the network (DNS lists, hash lookups) or redis.
NETWORK_MODULES = ("rbl", "surbl", "phishing", "fuzzy_check", "dkim_signing", "arc", "spf", "dkim", "dmarc",
                   "asn", "url_redirector", "neural", "ratelimit", "greylist", "replies", "history_redis",
                   "emails", "mx_check", "dcc", "external_services", "antivirus", "metadata_exporter",
                   "clickhouse", "elastic", "reputation", "bayes_expiry")

CONF = """
.include "$CONFDIR/common.conf"
options {
  pidfile = "%(dir)s/rspamd.pid";
  dbdir = "%(dir)s/db";
  .include "$CONFDIR/options.inc"
  enable_test_patterns = true;
  dns { nameserver = ["127.0.0.1:9"]; timeout = 0.5s; retransmits = 1; }
}
logging { type = "file"; filename = "%(dir)s/rspamd.log"; level = "notice"; }
worker "rspamd_proxy" {
  bind_socket = "%(host)s:%(port)d";
  milter = yes;
  timeout = 120s;
  count = 1;
  upstream "local" { default = yes; self_scan = yes; }
}
"""


class Rspamd:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.dir = tempfile.mkdtemp(prefix="rspamd-", dir="/tmp")
        self.proc = None
        self.out = None

    @property
    def spec(self):
        """The milters value for mailbag.conf."""
        return "inet:%s:%d" % (self.host, self.port)

    def start(self, timeout=240):
        if not shutil.which("rspamd"):
            raise RuntimeError("rspamd is not installed (Debian package rspamd, in the Makefile's TEST_PKGS)")
        d = self.dir
        os.makedirs(os.path.join(d, "db"))
        os.makedirs(os.path.join(d, "local.d"))
        with open(os.path.join(d, "rspamd.conf"), "w") as f:
            f.write(CONF % {"dir": d, "host": self.host, "port": self.port})
        # The headers rspamd adds in milter mode (X-Spamd-Result, X-Rspamd-Server, ...).
        with open(os.path.join(d, "local.d", "milter_headers.conf"), "w") as f:
            # Clients here come from 127.0.0.0/8, which rspamd skips by default.
            f.write("extended_spam_headers = true;\nskip_local = false;\nskip_authenticated = false;\n")
        for mod in NETWORK_MODULES:
            with open(os.path.join(d, "local.d", mod + ".conf"), "w") as f:
                f.write("enabled = false;\n")
        self.out = open(os.path.join(d, "stdout.log"), "wb")
        # -f: foreground; -i: allowed to run as root (the tests run as root).
        self.proc = subprocess.Popen(["rspamd", "-f", "-i", "-c", os.path.join(d, "rspamd.conf"),
                                      "--var=LOCAL_CONFDIR=" + d, "--var=DBDIR=" + os.path.join(d, "db"),
                                      "--var=RUNDIR=" + d, "--var=LOGDIR=" + d],
                                     stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + timeout  # loading and compiling its rules takes a while
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("rspamd exited (%s):\n%s" % (self.proc.returncode, self.log()[-3000:]))
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > end:
                    raise RuntimeError("rspamd did not listen in time")
                time.sleep(0.5)

    def log(self):
        try:
            with open(os.path.join(self.dir, "stdout.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            harness.stop_group(self.proc)
            self.proc = None
        if self.out is not None:
            self.out.close()
            self.out = None
        shutil.rmtree(self.dir, ignore_errors=True)
