"""The server's Prometheus metrics: in-memory, per process (each process is scraped by its
own address; docs/metrics.md says why not a shared registry).

Nothing here runs per token: chat already notes when each token arrived and when each
frame went out (generation.Answer.token_times, frame_log), and this module reads those
once, when the answer ends (chat.signals.answer_ended). Gauges are read at scrape time.
"""
from prometheus_client import Counter, Gauge, Histogram

from chat import consumers, generation

# Seconds; the first-token buckets reach the upstream's LLM_FIRST_TOKEN_TIMEOUT range.
FIRST_TOKEN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60)
RELAY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.016, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

answers_started = Counter("chat_answers_started", "Answers started on this process.")
answers_ended = Counter("chat_answers_ended", "Answers ended on this process, by final status.", ["status"])
time_to_first_token = Histogram(
    "chat_time_to_first_token_seconds",
    "From an answer's start to its first token from the upstream (answers that got one).",
    buckets=FIRST_TOKEN_BUCKETS,
)
relay_delay = Histogram(
    "chat_relay_delay_seconds",
    "Per delta frame: from the arrival of its oldest token from the upstream to the frame's publication.",
    buckets=RELAY_BUCKETS,
)
tokens_streamed = Counter("chat_tokens_streamed", "Tokens relayed from the upstream (counted as each answer ends).")
upstream_errors = Counter("chat_upstream_errors", "Answers that failed upstream, by kind.", ["kind"])
quota_refusals = Counter("chat_quota_refusals", "Sends and regenerates refused over a budget.", ["period", "kind"])
answers_running = Gauge("chat_answers_running", "Answers running on this process now.")
answers_running.set_function(generation.running_count)
sockets_open = Gauge("chat_sockets_open", "Chat WebSockets open on this process now.")
sockets_open.set_function(consumers.sockets_open)


def on_answer_started(sender, answer, **kwargs) -> None:
    answers_started.inc()


def on_quota_refused(sender, period, kind, **kwargs) -> None:
    quota_refusals.labels(period=period, kind=kind).inc()


def on_answer_ended(sender, answer, message=None, **kwargs) -> None:
    answers_ended.labels(status=answer.status).inc()
    if answer.error_kind:
        upstream_errors.labels(kind=answer.error_kind).inc()
    token_times = answer.token_times
    tokens_streamed.inc(len(token_times))
    if token_times:
        time_to_first_token.observe(max(0.0, token_times[0] - answer.started_at))
    first = 0  # index of the first token of each frame in turn
    for sent_at, tokens in answer.frame_log:
        if first < len(token_times):
            relay_delay.observe(max(0.0, sent_at - token_times[first]))
        first += tokens
