"""Topic names: one per producing service; dead letters go to `<topic>.dlq`."""

REGISTRY = "kuaiche.registry"
FACTORS = "kuaiche.factors"
ISSUES = "kuaiche.issues"
SCORING = "kuaiche.scoring"
NOTIFICATIONS = "kuaiche.notifications"

DOMAIN_TOPICS: tuple[str, ...] = (REGISTRY, FACTORS, ISSUES, SCORING, NOTIFICATIONS)


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


ALL_TOPICS: tuple[str, ...] = DOMAIN_TOPICS + tuple(dead_letter_topic(t) for t in DOMAIN_TOPICS)
