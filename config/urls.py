from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.admin.auth import require_admin_access
from wagtail.documents import urls as wagtaildocs_urls

from cms.views import LinliDeleteSubmissionsView
from engine import public_views, sign_in_views, web
from engine.views import serve_file

urlpatterns = [
    path("django-admin/", admin.site.urls),
    # Wagtail's "delete selected submissions", narrowed by Linli's policy (before Wagtail's own)
    path("admin/forms/submissions/<int:page_id>/delete/",
         require_admin_access(LinliDeleteSubmissionsView.as_view()), name="linli_delete_submissions"),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("api/v1/", include("engine.api.urls")),
    path("files/<str:token>/", serve_file, name="linli_file"),
    path("login/", sign_in_views.login_page, name="linli_login"),
    path("logout/", sign_in_views.logout_page, name="linli_logout"),
    path("inbox/", web.inbox, name="linli_inbox"),
    path("inbox/read/", web.notifications_read, name="linli_notifications_read"),
    path("inbox/messages/", web.messages_page, name="linli_messages"),
    path("inbox/messages/<int:pk>/read/", web.notification_read, name="linli_notification_read"),
    path("my/", web.my_items, name="linli_my_items"),
    path("items/<int:pk>/", web.item, name="linli_item"),
    path("my/consents/", public_views.my_consents, name="linli_my_consents"),
    path("posts/<int:pk>/contact/", public_views.contact_holder, name="linli-contact-holder"),
    path("search/", public_views.search, name="linli_search"),
    path("i18n/", include("django.conf.urls.i18n")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail's page serving comes last: it answers every path not matched above.
urlpatterns += [path("", include(wagtail_urls))]
