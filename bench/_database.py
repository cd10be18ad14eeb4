"""A throwaway database for a benchmark: created from the configured one, always dropped."""

from contextlib import contextmanager


@contextmanager
def throwaway_database(suffix=""):
    """Create `test_<name><suffix>` (migrated by the caller), point Django at it, drop it after."""
    from django.conf import settings
    from django.db import connection

    if suffix:
        connection.settings_dict.setdefault("TEST", {})["NAME"] = f"test_{connection.settings_dict['NAME']}{suffix}"
    creation = connection.creation
    test_name = creation._create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    settings.DATABASES["default"]["NAME"] = test_name
    connection.close()
    connection.settings_dict["NAME"] = test_name
    try:
        yield test_name
    finally:
        connection.close()
        creation.destroy_test_db(test_name, verbosity=0)
