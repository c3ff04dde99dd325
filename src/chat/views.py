"""Pages: the React app's shell (/healthz and /readyz: serving.health)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse


@login_required
def app_page(request, conversation_id=None):
    """/, /c/<id>, /history: the client routes; Django only serves the shell."""
    bootstrap = {
        "username": request.user.get_username(),
        "loginUrl": reverse("login"),
        "logoutUrl": reverse("logout"),
        "signupUrl": reverse("signup"),
    }
    return render(request, "chat/app.html", {"bootstrap": bootstrap})
