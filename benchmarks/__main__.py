"""``python -m benchmarks``: replies, /stop and floods while reminders go out in bulk.

See ``benchmarks/people.py``; ``python -m benchmarks.dispatch`` times a tick on its own.
"""

from benchmarks.people import main

main()
