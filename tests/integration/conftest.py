# Fixtures for the cross-process tests: see mbplugin.py (shared with tests/crash).
from mbplugin import *  # noqa: F401,F403
