# `make run`, the first command README gives a new user: the demo script it runs
# (tests/tools/run-demo.sh) starts a complete private server under a directory of its own,
# prints how to send and fetch a message, and stops every process on Ctrl-C. The test
# follows the printed instructions as a user would, by running the very commands it
# prints: swaks to SMTP, swaks through submission with STARTTLS and AUTH, the Maildir
# listing, and the POP3 one-liner, which must show both messages; then Ctrl-C (SIGINT)
# stops every daemon, and a second run keeps the state and the password.
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile

import pytest

import harness

SCRIPT = os.path.join(harness.REPO, "tests", "tools", "run-demo.sh")


def free_port_run(span=21):
    """A port on 127.0.0.1 with the `span` ports after it free too (the demo puts
    submission, POP3 and the rest next to SMTP)."""
    for _ in range(50):
        base = harness.free_port("127.0.0.1")
        if base + span > 65535:
            continue
        ok = True
        for p in range(base, base + span):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            return base
    raise RuntimeError("no free run of ports on 127.0.0.1")


class Demo:
    def __init__(self, run_dir, port):
        self.run_dir, self.port = run_dir, port
        self.proc = None
        self.out = b""

    def start(self):
        env = dict(os.environ, MAILBAG_DEMO_PORT=str(self.port))
        self.proc = subprocess.Popen([SCRIPT, harness.build_dir() + "/bin", self.run_dir], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
        os.set_blocking(self.proc.stdout.fileno(), False)
        for _ in harness.deadline_loop(90, "the demo's 'Press Ctrl-C' line"):
            chunk = self.proc.stdout.read() or b""
            self.out += chunk
            if b"Press Ctrl-C to stop." in self.out:
                return self.out.decode()
            assert self.proc.poll() is None, self.out.decode(errors="replace")

    def stop(self):
        """Ctrl-C, as a terminal sends it to the script (its daemons have sessions of
        their own); returns what it printed."""
        self.proc.send_signal(signal.SIGINT)
        rest, _ = self.proc.communicate(timeout=60)
        return (rest or b"").decode(errors="replace")

    def cleanup(self):
        """After a failed test: the script's own Ctrl-C path stops its daemons; any it
        printed that are still there (the script killed) are killed here."""
        if self.proc and self.proc.poll() is None:
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate()
        m = re.search(rb": pids ([0-9 ]+)", self.out)
        for pid in (int(p) for p in m.group(1).split()) if m else ():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def command(text, starts, containing=""):
    """The printed command line that starts with `starts` (and has `containing`)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(starts) and containing in ln]
    assert lines, "no '%s' line in:\n%s" % (starts, text)
    return lines[0]


def run_printed(line):
    r = subprocess.run(["/bin/bash", "-c", line], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, line + "\n" + r.stdout + r.stderr
    return r.stdout


def pids_of(text):
    m = re.search(r": pids ([0-9 ]+)", text)
    assert m, text
    return [int(p) for p in m.group(1).split()]


@pytest.mark.skipif(not shutil.which("swaks"), reason="swaks not installed")
def test_make_run_serves_as_printed_and_stops_on_ctrl_c():
    tmp = tempfile.mkdtemp(prefix="mb-make-run-", dir="/tmp")
    os.chmod(tmp, 0o755)
    run_dir = os.path.join(tmp, "run")
    demo = Demo(run_dir, free_port_run())
    try:
        text = demo.start()
        assert "Mailbag demo server is running on 127.0.0.1:%d" % demo.port in text, text
        # Send a message, as printed; then as the demo user through submission.
        out = run_printed(command(text, "swaks --server 127.0.0.1:%d --to" % demo.port))
        assert re.search(r"<-  250 2\.0\.0 Ok: queued as", out), out
        out = run_printed(command(text, "swaks --server", "--auth") + " --header 'Subject: through submission'")
        assert "235 2.7.0" in out and re.search(r"<~  250 2\.0\.0 Ok: queued as", out), out
        listing = command(text, "ls ")
        for _ in harness.deadline_loop(30, "both messages in the demo Maildir"):
            if len(run_printed(listing).split()) == 2:
                break
        # Fetch over POP3 with the printed one-liner: the newest message, the submitted one.
        out = run_printed(command(text, "/usr/bin/python3 -c 'import poplib"))
        assert "Subject: through submission" in out, out
        assert re.search(r"^Received: from .*\n\tby localhost \(Mailbag\) with ESMTPSA ", out, re.M), out
        pids = pids_of(text)
        said = demo.stop()
        assert "Stopped. State kept in %s" % run_dir in said, said
        for pid in pids:
            for _ in harness.deadline_loop(10, "pid %d gone" % pid):
                if not os.path.exists("/proc/%d" % pid):
                    break
        # A second run keeps the account, its password and the mail.
        password = open(os.path.join(run_dir, "demo-password")).read().strip()
        demo = Demo(run_dir, demo.port)
        text = demo.start()
        assert "password: %s " % password in text, text
        maildir = os.path.join(run_dir, "mail", "example.test", "demo")
        assert sum(len(os.listdir(os.path.join(maildir, d))) for d in ("new", "cur")) == 2
        demo.stop()
    finally:
        demo.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
