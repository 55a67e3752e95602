"""``python -m benchmarks``: every benchmark figure in one run (see ``benchmarks/suite.py``).

``python -m benchmarks.people`` (replies during a burst, with ``--before``) and
``python -m benchmarks.dispatch`` (one tick, in one process) still run on their own.
"""

from benchmarks.suite import main

main()
