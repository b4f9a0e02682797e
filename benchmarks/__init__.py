"""Benchmarks of devdesk, with django-helpdesk as the peer."""
