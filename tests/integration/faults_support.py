# Helpers for the fault-injection tests (test_faults_*.py, tests/regress): small tmpfs
# file systems that a test fills up, and reply parsing. Root only (mount).
import errno
import os
import subprocess

import pytest

import harness


def status_of(sent):
    """(reply code, enhanced status code) of a harness.Sent."""
    text = sent.text.decode() if isinstance(sent.text, bytes) else sent.text
    return sent.code, text.split(" ")[0]


@pytest.fixture
def tmpfs():
    """mount(path, size, **opts): a tmpfs on `path` (created if missing). Every Mailbag
    of the test is stopped before the file systems are unmounted."""
    mounted = []

    def mount(path, size, **opts):
        os.makedirs(path, exist_ok=True)
        o = ["size=%s" % size] + ["%s=%s" % kv for kv in opts.items()]
        subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(o), "mailbag-test", path], check=True)
        mounted.append(path)
        return path

    yield mount
    for m in list(harness.REGISTRY):
        if not m.stopped:
            m.stop()
    for path in reversed(mounted):
        if subprocess.run(["umount", path], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", path], check=True)


def fill(directory):
    """Fills the file system of `directory` with one root-owned file; returns its path."""
    path = os.path.join(directory, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
    finally:
        os.close(fd)
    return path
