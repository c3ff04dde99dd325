"""Create a superuser on first start, so a newcomer can log in and chat at once."""
import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a superuser when none exists (DJANGO_SUPERUSER_USERNAME / _PASSWORD, or a generated password)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="/accounts/login/", help="login URL to print")

    def handle(self, *args, url, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        generated = not password
        password = password or secrets.token_urlsafe(12)
        User.objects.create_superuser(username, os.environ.get("DJANGO_SUPERUSER_EMAIL", ""), password)
        shown = password if generated else "(DJANGO_SUPERUSER_PASSWORD)"
        self.stdout.write(self.style.SUCCESS(
            f"\nCreated superuser. Log in at {url}\n  username: {username}\n  password: {shown}\n"
            + ("  (generated now and shown only once: note it down)\n" if generated else "")
        ))
