"""Delivery volumes and spend of a partnership: pages."""
