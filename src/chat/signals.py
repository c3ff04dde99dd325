"""What chat tells other apps about an answer's life (connected in their AppConfig.ready()).

Sent on the event loop, from the answer's own task: receivers must be quick and must not
touch the database (queue the work instead). A failing receiver is logged, never fatal.
"""
from django.dispatch import Signal

# answer=generation.Answer, when its task starts (after the refusals: it will run).
answer_started = Signal()
# answer=generation.Answer (status, error_kind, usage, token_times, frame_log, started_at),
# message=the stored Message or None (deleted meanwhile), once it is stored and announced.
answer_ended = Signal()
