"""Wagtail page types: community home pages, form pages, announcements, honour rolls, post
boards and statistics. Public pages show people only through `engine.privacy`."""

from .announcements import AnnouncementIndexPage, AnnouncementPage  # noqa: F401
from .boards import PostBoardPage, StatisticsPage  # noqa: F401
from .forms import LinliFormPage, SimpleFormField, SimpleFormPage  # noqa: F401
from .home import HomePage  # noqa: F401
from .honours import HonourEntry, HonourRollIndexPage, HonourRollPage  # noqa: F401
