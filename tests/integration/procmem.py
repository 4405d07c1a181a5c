# A process's memory searched for a secret (root only: /proc/PID/mem), to show which
# daemon holds the TLS private key (test_hardening.py, test_tls_key.py).
import subprocess

import pytest


def private_exponent_slices(key_file):
    """32 bytes from the middle of the RSA private exponent of `key_file`, big-endian (as
    in the file) and little-endian (as in an x86-64 BIGNUM's words)."""
    out = subprocess.run(["openssl", "pkey", "-in", key_file, "-text", "-noout"], capture_output=True,
                         text=True, check=True).stdout
    hexdigits, on = "", False
    for line in out.splitlines():
        if line.startswith("privateExponent"):
            on = True
            continue
        if on and not line.startswith(" "):
            break
        if on:
            hexdigits += line.strip().replace(":", "")
    d = bytes.fromhex(hexdigits).lstrip(b"\0")
    assert len(d) > 200, "not an RSA-2048 key?"
    return d[100:132], d[::-1][100:132]


def memory_contains(pid, needles):
    """Whether any readable mapping of process `pid` contains one of `needles`. A
    process built with AddressSanitizer (make test-sanitize) cannot be searched: its
    shadow memory and allocator reserve terabytes of address space; the test is
    skipped there."""
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        lines = maps.readlines()
        if any("libasan" in line for line in lines):
            pytest.skip("an AddressSanitizer build's memory cannot be searched")
        for line in lines:
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")):
                continue
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(lo)
                chunk = mem.read(hi - lo)
                if any(n in chunk for n in needles):
                    return True
            except (OSError, ValueError, OverflowError):
                continue
    return False
