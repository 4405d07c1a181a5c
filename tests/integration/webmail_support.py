# Roundcube as `mailctl roundcube config` sets it up, for the webmail test and anyone
# else: the generated configuration in a directory of the instance, plus a local.inc.php
# (the administrator's file, which mailctl never writes) that points Roundcube at the
# test's Dovecot, then roundcube-serve (PHP's built-in web server, as www-data) on the
# instance's 127.x address and a free port. Started by the test, never as a service.
import os
import subprocess
import urllib.request

import harness

ROUNDCUBE_INDEX = "/var/lib/roundcube/public_html/index.php"


class Roundcube:
    def __init__(self, m, dovecot):
        self.m = m
        self.dovecot = dovecot
        self.dir = os.path.join(m.dir, "roundcube")
        self.port = harness.free_port(m.host)
        self.url = "http://%s:%d/" % (m.host, self.port)
        self.log_path = os.path.join(m.dir, "roundcube-serve.log")
        self.proc = None

    def configure(self):
        """Runs `mailctl roundcube config` and writes local.inc.php; returns mailctl's result."""
        r = self.m.mailctl("roundcube", "config", self.dir)
        with open(os.path.join(self.dir, "local.inc.php"), "w") as f:
            f.write("<?php\n// The test's Dovecot listens on its own address and port.\n"
                    "$config['imap_host'] = 'tls://%s:%d';\n" % (self.m.host, self.dovecot.imap_port))
        return r

    def start(self):
        if not os.path.exists(os.path.join(self.dir, "config.inc.php")):
            self.configure()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(self.dir, "roundcube-serve"), "%s:%d" % (self.m.host, self.port)],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        log.close()
        for _ in harness.deadline_loop(20, "Roundcube's login page on " + self.url):
            if self.proc.poll() is not None:
                raise RuntimeError("roundcube-serve exited (%d): %s" % (self.proc.returncode, self.log()))
            try:
                with urllib.request.urlopen(self.url, timeout=10) as r:
                    if r.status == 200 and b"rcmloginuser" in r.read():
                        return self
            except OSError:
                pass

    def log(self):
        """roundcube-serve's output and Roundcube's own error log."""
        out = []
        for p in (self.log_path, os.path.join(self.m.data, "roundcube", "logs", "errors.log")):
            try:
                with open(p, errors="replace") as f:
                    out.append("== %s\n%s" % (p, f.read()[-4000:]))
            except OSError:
                pass
        return "\n".join(out)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            harness.stop_group(self.proc)
