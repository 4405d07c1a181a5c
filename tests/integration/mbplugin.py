# pytest fixtures and hooks shared by tests/integration and tests/crash (each folder's
# conftest.py imports everything from here). `mb` is a started private Mailbag;
# `make_mailbag(...)` builds more or differently configured ones. Every instance is
# stopped after its test, pass or fail; when a test fails, the daemons' logs are attached
# to the report and the temporary directory is kept for inspection.
import pytest

import harness


@pytest.fixture
def make_mailbag():
    made = []

    def factory(start=True, **kw):
        m = harness.Mailbag(**kw)
        made.append(m)
        if start:
            m.start()
        return m

    yield factory
    for m in made:
        m.stop()


@pytest.fixture
def mb(make_mailbag):
    return make_mailbag()


@pytest.fixture(autouse=True)
def _cleanup_instances(request):
    yield
    failed = any(getattr(request.node, "rep_" + w, None) is not None
                 and getattr(request.node, "rep_" + w).failed for w in ("setup", "call"))
    for m in list(harness.REGISTRY):
        if failed:
            if not m.stopped:
                m.stop()
            harness.REGISTRY.remove(m)
            print("\nkept %s for inspection" % m.dir)
        else:
            m.cleanup()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
    if rep.failed and rep.when in ("setup", "call"):
        for m in harness.REGISTRY:
            for name in list(harness.DAEMONS) + [n for n in m.procs if n not in harness.DAEMONS]:
                text = m.logs(name)
                if len(text) > 20000:
                    text = "[... %d bytes cut ...]\n" % (len(text) - 20000) + text[-20000:]
                rep.sections.append(("%s log (%s)" % (name, m.dir), text or "(empty)"))
