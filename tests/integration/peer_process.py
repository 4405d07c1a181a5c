# A peer daemon that a test starts in a directory of its own (Dovecot, unbound): reading
# its log file and stopping it, shared by the wrappers in imap_support.py,
# test_dovecot.py and remote_peers.py. A wrapper sets self.dir and self.proc (the Popen,
# or None before start) and says which log file is its, how long a stop may take and
# whether stop() removes its directory.
import os
import shutil
import signal
import subprocess


def read_log(path):
    """The file's text ("" if it does not exist yet), bytes that are not UTF-8 replaced."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def stop_process(proc, timeout):
    """SIGTERM, then SIGKILL when it has not exited within `timeout` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class PeerProcess:
    LOG_NAME = "dovecot.log"  # in self.dir
    STOP_TIMEOUT = 15
    REMOVE_DIR = False  # stop() also removes self.dir

    def log(self):
        return read_log(os.path.join(self.dir, self.LOG_NAME))

    def stop(self):
        stop_process(self.proc, self.STOP_TIMEOUT)
        if self.REMOVE_DIR:
            shutil.rmtree(self.dir, ignore_errors=True)
