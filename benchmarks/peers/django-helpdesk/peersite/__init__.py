"""A minimal Django project serving django-helpdesk, the benchmark peer of devdesk."""
