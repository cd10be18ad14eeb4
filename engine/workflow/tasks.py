"""Background work through Django's Tasks framework (the database worker in the demo, a
Redis-backed worker in production)."""

from django.tasks import task


@task
def fire_timers():
    """Take every transition whose deadline has passed; safe to run any number of times."""
    from .adapter import fire_due_timers

    return fire_due_timers()
