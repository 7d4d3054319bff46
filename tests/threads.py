"""Run a function in real threads at once, each with its own database connection."""

import threading

from django.db import connection


def run_in_threads(fn, count):
    barrier = threading.Barrier(count)
    results = [None] * count

    def worker(i):
        try:
            # Connected before the start line: otherwise connecting staggers the threads and
            # they may run one after another instead of at once.
            connection.ensure_connection()
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # collected for the test to inspect
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
