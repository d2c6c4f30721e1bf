"""Runs the Python client's tests (against real engines they start) and ends with "N passed, N failed, N skipped".

    python3 clients/python/tests/run.py          # from the repository's root, as .ci/run does
    python3 -m unittest discover -s clients/python/tests -p 'test_gate.py'   # one file

A run in which no test ran fails, so a discovery that finds nothing cannot pass for one that did.
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

here = Path(__file__).resolve().parent
suite = unittest.TestLoader().discover(start_dir=str(here), top_level_dir=str(here))
result = unittest.TextTestRunner(verbosity=2).run(suite)
failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
skipped = len(result.skipped)
passed = result.testsRun - failed - skipped
print(f"python client: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
