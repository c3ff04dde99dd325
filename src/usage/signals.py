"""What usage tells other apps (metrics counts it)."""
from django.dispatch import Signal

# period="day" | "month", kind="messages" | "tokens": a send or regenerate was refused.
quota_refused = Signal()
