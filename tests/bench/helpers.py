# The benchmark's C++ helpers, built on demand from tests/bench: the load generator
# (loadgen*.cpp, no dependency beyond libc) and the DKIM signing cost measurement
# (dkim_bench.cpp, linked against the build's libcommon).
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def build_loadgen(build):
    out = os.path.join(build, "bench", "loadgen")
    srcs = [os.path.join(HERE, f) for f in ("loadgen.cpp", "loadgen_smtp.cpp", "loadgen_pop3.cpp")]
    newest = max(os.path.getmtime(f) for f in srcs + [os.path.join(HERE, "loadgen.hpp")])
    if not os.path.exists(out) or os.path.getmtime(out) < newest:
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run(["g++", "-std=c++20", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out] + srcs,
                       check=True)
    return out


def dkim_signing_cost(build):
    """DKIM signing cost per 4 KB message, RSA 2048 and Ed25519 (tests/bench/dkim_bench.cpp,
    linked against the build's libcommon)."""
    out = os.path.join(build, "bench", "dkim_bench")
    src = os.path.join(HERE, "dkim_bench.cpp")
    lib = os.path.join(build, "lib", "libcommon.a")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    subprocess.run(["g++", "-std=c++20", "-O2", "-I", os.path.dirname(os.path.dirname(HERE)), "-o", out, src, lib,
                    "-lssl", "-lcrypto"], check=True)
    r = subprocess.run([out, "2000", "4096"], capture_output=True, text=True, timeout=600, check=True)
    return json.loads(r.stdout)
