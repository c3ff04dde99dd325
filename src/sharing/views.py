"""The page of a share link: the React app's shell, for a link that is live."""
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from . import shares


def shared_page(request, token: str):
    """/s/<token>: logged-in users, or anyone when CHAT_PUBLIC_SHARES is on; a revoked or
    unknown link is a plain 404."""
    if not request.user.is_authenticated and not settings.CHAT_PUBLIC_SHARES:
        return redirect_to_login(request.get_full_path())
    if shares.share_open(token=token, viewer=request.user) is None:
        raise Http404("No such link.")
    bootstrap = {
        "username": request.user.get_username() if request.user.is_authenticated else "",
        "loginUrl": reverse("login"), "logoutUrl": reverse("logout"), "signupUrl": reverse("signup"),
    }
    return render(request, "chat/app.html", {"bootstrap": bootstrap})
