from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from engine import web
from engine.views import serve_file

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("api/v1/", include("engine.api.urls")),
    path("files/<str:token>/", serve_file, name="linli_file"),
    path("inbox/", web.inbox, name="linli_inbox"),
    path("my/", web.my_items, name="linli_my_items"),
    path("items/<int:pk>/", web.item, name="linli_item"),
    path("i18n/", include("django.conf.urls.i18n")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail's page serving comes last: it answers every path not matched above.
urlpatterns += [path("", include(wagtail_urls))]
