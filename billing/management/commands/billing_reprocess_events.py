from django.core.management.base import BaseCommand

from billing.services.webhooks import webhooks_reprocess_failed


class Command(BaseCommand):
    help = "Process again the Stripe events whose processing failed, oldest first."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args, limit, **options):
        done, failing = webhooks_reprocess_failed(limit=limit)
        self.stdout.write(f"processed {done} failed events; {failing} still failing")
        if failing:
            raise SystemExit(1)
