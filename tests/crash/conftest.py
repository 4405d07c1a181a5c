# The crash tests use the integration harness (tests/integration/harness.py, mbplugin.py).
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))

from mbplugin import *  # noqa: E402,F401,F403
