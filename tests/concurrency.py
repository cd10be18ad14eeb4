"""Racing tests: run the same action in many threads released at the same moment."""

import threading

from django.db import close_old_connections, connection


def race(count, action, timeout=60):
    """Run `action(index)` in `count` threads started together; return (results, errors).

    Each thread closes its own database connection; anything an action raises is collected
    (as the exception object) rather than lost in the thread."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run(index):
        try:
            barrier.wait(timeout=10)
            results.append(action(index))
        except Exception as error:  # noqa: BLE001 - handed to the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    close_old_connections()
    return results, errors
