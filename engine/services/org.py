"""Building the org tree and the store from a community's published community.yaml.

Called inside the transaction that publishes the community definition, so the tree always
matches the live version. Units are matched by their id; a unit that left the file is
deactivated (roles, people and submissions still point at it), a unit that moved is moved.
Store items are created with their initial stock; later the stock is the store's to manage.
"""

from __future__ import annotations

from engine.forms.spec import text
from engine.models import OrgUnit, StoreItem


def _flatten(units, parent=None):
    for unit in units:
        yield unit, parent
        yield from _flatten(unit.get("children", []), unit["id"])


def sync_org_tree(community, data) -> dict[str, OrgUnit]:
    existing = {u.key: u for u in OrgUnit.objects.filter(community=community)}
    seen = {}
    for unit, parent_key in _flatten(data.get("units", [])):
        fields = {"name": text(unit["name"]), "level": unit["level"], "active": True}
        node = existing.get(unit["id"])
        parent = seen.get(parent_key) if parent_key else None
        if node is None:
            values = {"community": community, "key": unit["id"], **fields}
            node = parent.add_child(**values) if parent else OrgUnit.add_root(**values)
        else:
            if any(getattr(node, k) != v for k, v in fields.items()):
                OrgUnit.objects.filter(pk=node.pk).update(**fields)
            current_parent = node.get_parent()
            if (current_parent.pk if current_parent else None) != (parent.pk if parent else None):
                if parent is None:
                    last_root = OrgUnit.get_last_root_node()
                    node.move(last_root, pos="last-sibling")
                else:
                    node.move(parent, pos="last-child")
            node = OrgUnit.objects.get(pk=node.pk)
            for key, value in fields.items():
                setattr(node, key, value)
        seen[unit["id"]] = node
    OrgUnit.objects.filter(community=community).exclude(key__in=seen).update(active=False)
    for unit, _ in _flatten(data.get("units", [])):
        node = seen[unit["id"]]
        node.covers.set([seen[k] for k in unit.get("covers", []) if k in seen])
    _sync_store(community, data)
    return seen


def _sync_store(community, data):
    items = data.get("points", {}).get("store", {}).get("items", [])
    keys = []
    for item in items:
        keys.append(item["key"])
        values = {"title": text(item["title"]), "kind": item["kind"], "cost": item["cost"],
                  "per_person": item.get("per_person"), "active": True}
        record, created = StoreItem.objects.get_or_create(community=community, key=item["key"],
                                                          defaults={**values, "stock": item["stock"]})
        if not created and any(getattr(record, k) != v for k, v in values.items()):
            StoreItem.objects.filter(pk=record.pk).update(**values)
    StoreItem.objects.filter(community=community).exclude(key__in=keys).update(active=False)


def units_within(unit: OrgUnit):
    """The unit, its subtree, and the subtrees of the units it covers (a grant there reaches them all)."""
    from django.db.models import Q

    query = Q(path__startswith=unit.path)
    for other in unit.covers.all():
        query |= Q(path__startswith=other.path)
    return OrgUnit.objects.filter(query, community_id=unit.community_id)
