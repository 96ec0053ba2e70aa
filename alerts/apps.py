from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _seed(sender, **kwargs):
    # Reference data, not business flow: every database (and every flushed test database)
    # has the alarm rules and default escalation policies of its scenarios.
    from alerts.reference_data import alerts_seed

    alerts_seed()


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = _("Alerts")

    def ready(self):
        post_migrate.connect(_seed, sender=self)
