"""Every write in billing, one module per subject: orders (and fulfilment), payments and
refunds, leases and monitoring subscriptions (with their invoices and dunning), the vendors'
ledger, and Stripe's webhooks. Stripe itself is reached only through `billing.gateway`."""
