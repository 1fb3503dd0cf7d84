"""The composition root's list of services. Only this package (the CLI) sees them all."""

from __future__ import annotations

from services.factors.main import SERVICE as FACTORS
from services.issues.main import SERVICE as ISSUES
from services.notifications.main import SERVICE as NOTIFICATIONS
from services.registry.main import SERVICE as REGISTRY
from services.scoring.main import SERVICE as SCORING
from shared.service import ServiceDefinition

# In this order `kuaiche up --demo` loads the demos: each builds on the events of those before.
SERVICES: dict[str, ServiceDefinition] = {
    s.name: s for s in (REGISTRY, FACTORS, ISSUES, SCORING, NOTIFICATIONS)
}
