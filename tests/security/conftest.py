"""Fixtures shared by the security tests: the API tests' own (the example definitions, private
storage in a temporary folder, fresh compiled-form caches, residents), reused."""

from tests.engine.api.conftest import (_fresh_registry_caches, definitions, neighbour, private_media,  # noqa: F401
                                       resident)
