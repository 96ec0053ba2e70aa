"""The billing pages: a unit's orders, payment, receipts, leases and invoices (orders.py,
leases.py), and a vendor's orders to fulfil and settlements (vendor.py)."""
