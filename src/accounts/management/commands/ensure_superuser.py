"""Create a superuser on first start, so a newcomer can log in and chat at once; on later
starts, say how to get back in, and apply DJANGO_SUPERUSER_PASSWORD when it was set since."""
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
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        superusers = list(User.objects.filter(is_superuser=True).order_by("pk").values_list("username", flat=True))
        if superusers:
            self.later_start(User, superusers, username, password)
            return
        generated = not password
        password = password or secrets.token_urlsafe(12)
        User.objects.create_superuser(username, os.environ.get("DJANGO_SUPERUSER_EMAIL", ""), password)
        shown = password if generated else "(DJANGO_SUPERUSER_PASSWORD)"
        self.stdout.write(self.style.SUCCESS(
            f"\nCreated superuser. Log in at {url}\n  username: {username}\n  password: {shown}\n"
            + ("  (generated now and shown only once: note it down)\n" if generated else "")
        ))

    def later_start(self, User, superusers: list[str], username: str, password: str) -> None:
        if password:
            user = User.objects.filter(username=username, is_superuser=True).first()
            if user is None:
                self.stdout.write(self.style.WARNING(
                    f"DJANGO_SUPERUSER_PASSWORD is set but there is no superuser {username!r} "
                    f"(superusers: {', '.join(superusers)}): not applied. Set DJANGO_SUPERUSER_USERNAME to one of them."
                ))
            elif not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
                self.stdout.write(self.style.SUCCESS(f"Password of superuser {username!r} set from DJANGO_SUPERUSER_PASSWORD."))
            return
        name = username if username in superusers else superusers[0]
        self.stdout.write(
            f"Superuser: {', '.join(superusers)}. Lost the password? Run "
            f"`DJANGO_SECRET_KEY=$(cat .django-secret-key) .venv/bin/python manage.py changepassword {name}` "
            "(the key as bin/run keeps it), or set DJANGO_SUPERUSER_PASSWORD and start again."
        )
