# man/mailbag.7, the map of the system, against the tree it describes (no daemons): every
# program of the Makefile's PROGRAMS is on it, and every source path (.Pa), function
# (.Fn) and type (.Vt) it names still exists, so a refactoring that renames or moves one
# fails here until the page follows.
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGE = os.path.join(ROOT, "man", "mailbag.7")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def macro_args(page, macro):
    """First argument of every line that starts with the mdoc macro (also after .Pq)."""
    out = []
    for line in page.splitlines():
        words = line.split()
        for i, w in enumerate(words):
            if w in ("." + macro, macro) and i + 1 < len(words) and (i == 0 or words[i - 1] in (".Pq", "Pq", ",")):
                out.append(words[i + 1])
    return out


def sources():
    found = {}
    for top, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("build", "build-san", "run")]
        for name in files:
            if name.endswith((".cpp", ".hpp")):
                path = os.path.join(top, name)
                found[os.path.relpath(path, ROOT)] = read(path)
    return found


def test_every_program_is_on_the_page():
    makefile = read(os.path.join(ROOT, "Makefile"))
    m = re.search(r"^PROGRAMS :=(.*)$", makefile, re.M)
    assert m, "no PROGRAMS line in the Makefile"
    programs = m.group(1).split()
    assert len(programs) >= 8, programs
    page = read(PAGE)
    for p in programs:
        assert re.search(r"^\.Xr %s 8\b" % re.escape(p), page, re.M), \
            "man/mailbag.7 does not mention %s: add it to 'The programs'" % p


def test_named_paths_exist():
    page = read(PAGE)
    tops = {d for d in os.listdir(ROOT) if os.path.isdir(os.path.join(ROOT, d)) and not d.startswith(".")}
    checked = 0
    for arg in macro_args(page, "Pa"):
        path = arg.rstrip(",;:.")
        # Only paths in the source tree: spool, Maildir and /etc paths are not files here.
        if path.split("/")[0] not in tops or path.split("/")[0] in ("build",):
            continue
        checked += 1
        assert os.path.exists(os.path.join(ROOT, path)), "man/mailbag.7 names %s, which is not in the tree" % path
    assert checked > 40


def test_named_functions_and_types_exist():
    page = read(PAGE)
    src = sources()
    text = "\n".join(src.values())
    checked = 0
    for arg in macro_args(page, "Fn"):
        name = arg.rstrip(",;:.")
        scope, _, fn = name.rpartition("::")
        checked += 1
        if not scope:
            ok = re.search(r"\b%s\(" % re.escape(fn), text)
        else:
            last = scope.split("::")[-1]
            ok = re.search(r"\b%s::%s\(" % (re.escape(last), re.escape(fn)), text) or any(
                re.search(r"\b%s\(" % re.escape(fn), body) and
                re.search(r"^(class|struct) %s\b|^namespace [\w:]*\b%s \{" % (re.escape(last), re.escape(last)),
                          body, re.M)
                for body in src.values())
        assert ok, "man/mailbag.7 names the function %s, which is not in the tree" % name
    for arg in macro_args(page, "Vt"):
        name = arg.rstrip(",;:.")
        checked += 1
        assert re.search(r"\b(class|struct) %s\b" % re.escape(name), text), \
            "man/mailbag.7 names the type %s, which is not in the tree" % name
    assert checked > 80
