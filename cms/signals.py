"""What makes public pages change: flows asking for a page, and the changes that purge the
cached pages of a community (cms.cache)."""

from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save
from wagtail.signals import page_published, page_unpublished

from cms import cache, generations


def _purge_page(sender, instance, **kwargs):
    try:
        community_id = getattr(instance.specific, "community_id", None)
    except instance.DoesNotExist:  # deleted: its specific row is already gone
        community_id = None
    cache.purge(community_id, site=True)


def _purge_restriction(sender, instance, **kwargs):
    # a restriction covers the page's whole subtree, which may span communities (a street's):
    # rare enough to purge every community
    from engine.models import Community

    cache.purge(*Community.objects.values_list("pk", flat=True), site=True)


def _purge_community(sender, instance, **kwargs):
    cache.purge(instance.community_id)


def _purge_definitions(sender, instance, created=False, **kwargs):
    if created:  # a new version of a form, flow or community file: names, counts and forms change
        cache.purge(instance.community_id, site=True)


def _purge_notice(sender, instance, created=False, **kwargs):
    """A step on an item whose public notice is on a page (an objection, the window closing): the
    page says where the notice stands, so the community's cached pages go once the step commits."""
    if not created:
        return
    from django.db import transaction

    from cms.models import AnnouncementPage

    if AnnouncementPage.objects.filter(source_id=instance.instance_id, kind=AnnouncementPage.Kind.NOTICE).exists():
        community_id = instance.community_id
        transaction.on_commit(lambda: cache.purge(community_id))


def _cache_cleared(sender, **kwargs):
    from django.core.cache import caches

    if kwargs["cache"] is caches["default"]:  # every process forgets the purge markers it holds
        generations.announce([generations.EVERYTHING])


def _setting_changed(sender, setting, **kwargs):
    if setting == "CACHES":  # in tests: what the process held came from another cache
        generations.watcher.stop()


def _publication_requested(sender, instance, kind, spec, **kwargs):
    from cms.generate import on_publication_requested

    on_publication_requested(sender, instance=instance, kind=kind, spec=spec)


def connect():
    from wagtail.models import Page, PageViewRestriction

    from engine.models import AuditEvent, DefinitionVersion, Person, PostAssignment
    from engine.redis_cache import cleared
    from engine.workflow.adapter import publication_requested

    publication_requested.connect(_publication_requested, dispatch_uid="linli-publication")
    cleared.connect(_cache_cleared, dispatch_uid="linli-cache-cleared")
    setting_changed.connect(_setting_changed, dispatch_uid="linli-cache-settings")
    page_published.connect(_purge_page, dispatch_uid="linli-purge-published")
    page_unpublished.connect(_purge_page, dispatch_uid="linli-purge-unpublished")
    post_delete.connect(_purge_page, sender=Page, dispatch_uid="linli-purge-deleted")
    post_save.connect(_purge_definitions, sender=DefinitionVersion, dispatch_uid="linli-purge-definitions")
    post_save.connect(_purge_notice, sender=AuditEvent, dispatch_uid="linli-purge-notice")
    for signal in (post_save, post_delete):  # a page made private (or public again)
        signal.connect(_purge_restriction, sender=PageViewRestriction,
                       dispatch_uid=f"linli-purge-restriction-{'save' if signal is post_save else 'delete'}")
    for model in (PostAssignment, Person):  # a post changing hands; a consent given or withdrawn
        post_save.connect(_purge_community, sender=model, dispatch_uid=f"linli-purge-save-{model.__name__}")
        post_delete.connect(_purge_community, sender=model, dispatch_uid=f"linli-purge-delete-{model.__name__}")
