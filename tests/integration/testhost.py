# The test machine, for the harness and the tests: where the binaries are, whether we
# are root, private loopback addresses and free ports, waiting with a deadline, stopping
# peers, reading a process's memory, probing a Unix socket as another user. Re-exported
# by harness (tests call them harness.free_port, harness.deadline_loop, ...).
import os
import pwd
import random
import signal
import socket
import subprocess
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_dir():
    return os.environ.get("MAILBAG_BUILD") or os.path.join(REPO, "build")


def bin_path(name):
    return os.path.join(build_dir(), "bin", name)


def is_root():
    return os.geteuid() == 0


_keys_cache = {}


def config_keys(program):
    """The mailbag.conf keys `program` reads (from its --dump-config with defaults), so a
    test can set a key only once the daemon knows it."""
    if program not in _keys_cache:
        r = subprocess.run([bin_path(program), "-c", "/dev/null", "--dump-config"],
                           capture_output=True, text=True)
        _keys_cache[program] = {ln.split("=", 1)[0].strip() for ln in r.stdout.splitlines() if "=" in ln}
    return _keys_cache[program]


def stop_group(proc, timeout=15):
    """Stops a peer started with start_new_session=True (rspamd, clamd, opendkim...):
    SIGTERM to its process group, SIGKILL if it is not gone within `timeout` seconds."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


def deadline_loop(timeout, what, interval=0.02, max_interval=0.25):
    """Yields until the caller breaks out; raises TimeoutError after `timeout` seconds.
    The poll interval grows from `interval` to `max_interval`, so short waits stay fast
    and long waits do not spin."""
    end = time.monotonic() + timeout
    while True:
        yield
        if time.monotonic() >= end:
            raise TimeoutError("timed out after %.1fs waiting for %s"
                               % (timeout, what() if callable(what) else what))
        time.sleep(interval)
        interval = min(interval * 1.5, max_interval)


_addr_lock = threading.Lock()
# Each process walks its own sequence from a random start: two calls never return the
# same address (the random last octet used before could repeat before the first address
# was bound), and workers, whose second octets come from their pids, rarely meet.
_addr_counter = [random.randrange(250 * 250)]


def can_bind(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ip, port))
        return s.getsockname()[1]
    except OSError:
        return None
    finally:
        s.close()


def unique_loopback():
    """A 127.x.y.z address no other instance (in this or another pytest worker) uses:
    the second octet comes from the pid, the rest from a per-process counter that starts
    at random, and port 25 (or any port, as non-root) must be bindable there."""
    with _addr_lock:
        for _ in range(1000):
            _addr_counter[0] += 1
            n = _addr_counter[0]
            ip = "127.%d.%d.%d" % (
                10 + os.getpid() % 240,
                1 + (n // 250) % 250,
                1 + n % 250,
            )
            if can_bind(ip, 25 if is_root() else 0) is not None:
                return ip
    raise RuntimeError("no free 127.x.y.z address found")


def rss_kb(pid):
    """The resident set size of process `pid` in KiB (VmRSS), 0 if /proc does not say."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sanitizer_build():
    """True when the daemons are built with AddressSanitizer (make test-sanitize): memory
    figures then include its shadow memory, and set-group-ID programs cannot run."""
    r = subprocess.run(["ldd", bin_path("smtpd")], capture_output=True, text=True)
    return "libasan" in r.stdout


def free_port(ip):
    port = can_bind(ip, 0)
    if port is None:
        raise RuntimeError("cannot bind %s" % ip)
    return port


def uid_of(user):
    return pwd.getpwnam(user).pw_uid


_PROBE = ("import socket,sys\n"
          "s=socket.socket(socket.AF_UNIX,socket.SOCK_SEQPACKET)\n"
          "s.settimeout(10)\n"
          "s.connect(sys.argv[1])\n"
          "try:\n"
          "    d=s.recv(1000)\n"
          "except ConnectionResetError:\n"
          "    d=b''\n"
          "print('closed' if not d else 'served')\n")


def probe_socket_as(user, group, path):
    """Connects to the SEQPACKET socket `path` as `user` (primary group `user`, plus
    `group` when given, none otherwise) and returns the CompletedProcess: stdout is
    'closed' when the daemon hung up, 'served' when it sent something; a socket whose
    mode keeps the user out leaves a PermissionError in stderr. Needs root."""
    groups = ["--groups=" + group] if group else ["--clear-groups"]
    return subprocess.run(["setpriv", "--reuid=" + str(uid_of(user)), "--regid=" + user] + groups +
                          ["--", "/usr/bin/python3", "-c", _PROBE, path],
                          capture_output=True, text=True, timeout=30)
