"""Wagtail admin hooks of the cms app: the "Linli" area (see cms/admin_views.py)."""

from wagtail import hooks

from .admin_views import LinliViewSet


@hooks.register("register_admin_viewset")
def register_linli_area():
    return LinliViewSet()
