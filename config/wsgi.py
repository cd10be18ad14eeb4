import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from cms.fastpath import PageHits  # noqa: E402 - needs the settings configured above

# cached public pages this process already holds are answered before Django's handler
application = PageHits(django_application)
