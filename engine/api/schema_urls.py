"""The URLs the OpenAPI schema describes: Linli's API only, not Wagtail's own admin API."""

from django.urls import include, path

urlpatterns = [path("api/v1/", include("engine.api.urls"))]
