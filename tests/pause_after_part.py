"""``python -m pause_after_part ARGS``: ``tokbench ARGS`` that sleeps after every part file it
writes when ``TOKBENCH_TEST_SLEEP_AFTER_PART=SECONDS`` is set, so tests/test_store_robustness.py
can kill a run (SIGKILL) or overlap two runs at a known point. The hook lives here, in the
tests, around the executor's one ``write_part`` call; tokbench itself has no test hooks."""
import os
import sys
import time

import tokbench.executor as executor
from tokbench.cli import main

_write_part = executor.write_part


def _write_then_pause(*args, **kwargs):
    path = _write_part(*args, **kwargs)
    time.sleep(float(os.environ.get("TOKBENCH_TEST_SLEEP_AFTER_PART") or 0))
    return path


if __name__ == "__main__":
    executor.write_part = _write_then_pause
    sys.exit(main(sys.argv[1:]))
