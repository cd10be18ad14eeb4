"""The demo accounts (contract): `admin` plus four people per example community."""

DEMO_PASSWORD = "linli-demo"
PERSONAS = (
    # (username suffix, Chinese title, English title, staff)
    ("secretary", "社区书记", "secretary", True),
    ("grid-leader", "网格长", "grid leader", True),
    ("member", "党员", "member", False),
    ("resident", "居民", "resident", False),
)


def demo_usernames(slug):
    return [f"{slug}-{suffix}" for suffix, *_ in PERSONAS]
