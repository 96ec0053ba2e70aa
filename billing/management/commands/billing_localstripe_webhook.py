from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse

from billing import gateway


class Command(BaseCommand):
    help = "Register SITE_URL's Stripe webhook endpoint with localstripe (the demo's Stripe)."

    def add_arguments(self, parser):
        parser.add_argument("--url", help="Deliver to this URL instead of SITE_URL's endpoint.")

    def handle(self, *args, url=None, **options):
        url = url or settings.SITE_URL + reverse("billing:stripe-webhook")
        gateway.localstripe_webhook_register(url)
        self.stdout.write(f"localstripe delivers webhooks to {url}")
