"""Budgets per user per day and month, in messages and tokens, checked before an answer starts.

A message is counted when its answer is allowed to start (chat.hooks): one atomic step
checks every budget and counts the message, so parallel sends, on any number of processes,
cannot get past the last allowed one. With Redis the counters are Redis keys (a Lua
script); without it, this process's memory (one event loop: the check and the count happen
without a pause between them). Tokens are known when an answer ends: they are added as
usage is written (usage.recorder), and a send is refused once the tokens used reach the
budget. Counters start from the stored daily usage the first time a period's key is used.
"""
import asyncio
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import timezone as tz

from channels.db import database_sync_to_async
from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from chat.protocol import ProtocolError

from . import signals
from .models import DailyUsage, Quota
from .protocol import HTTP_STATUS, QUOTA_EXCEEDED

FIELDS = ("daily_messages", "monthly_messages", "daily_tokens", "monthly_tokens")
LIMITS_CACHE_SECONDS = 10  # an admin's change applies within this


def now() -> datetime:
    """The clock quotas read (tests move it)."""
    return timezone.now()


# --- budgets ------------------------------------------------------------------------------------
def default_limits() -> dict[str, int]:
    """The QUOTA_* settings' budgets (0: no limit)."""
    return {name: getattr(settings, f"QUOTA_{name.upper()}") for name in FIELDS}


def limits_for(user) -> dict[str, int]:
    """The user's budgets (0: no limit): their own override, else their groups' (the most
    generous), else the QUOTA_* settings; one query."""
    limits = default_limits()
    rows = list(Quota.objects.filter(Q(user_id=user.pk) | Q(group__user=user.pk)).values("user_id", *FIELDS))
    groups = [row for row in rows if row["user_id"] is None]
    own = next((row for row in rows if row["user_id"] is not None), None)
    for name in FIELDS:
        values = [row[name] for row in groups if row[name] is not None]
        if values:
            limits[name] = 0 if 0 in values else max(values)
        if own is not None and own[name] is not None:
            limits[name] = own[name]
    return limits


_limits_cache: dict = {}  # user id -> (when, limits); OVERRIDES -> (when, whether any exist)
OVERRIDES = "overrides"


def _fresh(key):
    found = _limits_cache.get(key)
    return found if found is not None and time.monotonic() - found[0] < LIMITS_CACHE_SECONDS else None


async def cached_limits(user) -> dict[str, int]:
    found = _fresh(user.pk)
    if found is not None:
        return found[1]
    # No budget in the settings and no override anywhere (the default set-up): no query per
    # user, only one per LIMITS_CACHE_SECONDS for the whole process. A send waits for this.
    defaults = default_limits()
    if not any(defaults.values()):
        overrides = _fresh(OVERRIDES)
        if overrides is None:
            overrides = _limits_cache[OVERRIDES] = (time.monotonic(), await Quota.objects.aexists())
        if not overrides[1]:
            return defaults
    limits = await database_sync_to_async(limits_for)(user)
    _limits_cache[user.pk] = (time.monotonic(), limits)
    return limits


# --- periods ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Periods:
    day: date
    month: date
    day_ends: datetime
    month_ends: datetime

    @staticmethod
    def at(moment: datetime) -> "Periods":
        day = moment.astimezone(tz.utc).date()
        month = day.replace(day=1)
        next_month = (month + timedelta(days=32)).replace(day=1)
        return Periods(day, month, datetime.combine(day + timedelta(days=1), datetime.min.time(), tz.utc),
                       datetime.combine(next_month, datetime.min.time(), tz.utc))


def used_so_far(user_id: int, periods: Periods) -> dict[str, int]:
    """Messages (answers) and tokens stored for the day and month: where counters start."""
    sums = {"answers": Sum("answers"), "tokens": Sum("input_tokens") + Sum("output_tokens")}
    month = DailyUsage.objects.filter(user_id=user_id, day__gte=periods.month, day__lte=periods.day).aggregate(**sums)
    day = DailyUsage.objects.filter(user_id=user_id, day=periods.day).aggregate(**sums)
    return {"daily_messages": day["answers"] or 0, "monthly_messages": month["answers"] or 0,
            "daily_tokens": day["tokens"] or 0, "monthly_tokens": month["tokens"] or 0}


# --- counters ------------------------------------------------------------------------------------
class MemoryCounters:
    """This process's counters (no Redis): keys -> value, with the end of their period."""

    def __init__(self):
        self.values: dict[str, int] = {}
        self.ends: dict[str, float] = {}

    def _drop_expired(self, key: str) -> None:
        if key in self.ends and self.ends[key] <= time.time():
            self.values.pop(key, None)
            self.ends.pop(key, None)

    async def missing(self, keys: list[str]) -> list[str]:
        for key in keys:
            self._drop_expired(key)
        return [key for key in keys if key not in self.values]

    async def seed(self, values: dict[str, int], ends: dict[str, float]) -> None:
        for key, value in values.items():
            self.values.setdefault(key, value)
            self.ends.setdefault(key, ends[key])

    async def take(self, keys: list[str], limits: list[int], ends: list[float]) -> int:
        """Keys: day messages, month messages, day tokens, month tokens. 0 and count the
        message if every budget allows it, else the 1-based index of the first that does not."""
        for key, end in zip(keys, ends):
            self._drop_expired(key)
            self.values.setdefault(key, 0)
            self.ends.setdefault(key, end)
        for index, (key, limit) in enumerate(zip(keys, limits)):
            used = self.values[key]
            over = used + 1 > limit if index < 2 else used >= limit  # messages, then tokens
            if limit and over:
                return index + 1
        self.values[keys[0]] += 1
        self.values[keys[1]] += 1
        return 0

    async def add(self, amounts: dict[str, int], ends: dict[str, float]) -> None:
        for key, amount in amounts.items():
            self._drop_expired(key)
            self.values[key] = self.values.get(key, 0) + amount
            self.ends.setdefault(key, ends[key])

    async def get(self, key: str) -> int:
        self._drop_expired(key)
        return self.values.get(key, 0)


# KEYS day messages, month messages, day tokens, month tokens; ARGV their limits (0: none),
# then their expiry times (unix seconds). Messages: allowed while count + 1 <= limit; tokens:
# while used < limit. All allowed: both message counters grow by one. Returns 0 or the
# 1-based index of the first budget that refuses.
_TAKE = """
for i = 1, 4 do
  local limit = tonumber(ARGV[i])
  if limit > 0 then
    local used = tonumber(redis.call('GET', KEYS[i]) or '0')
    if (i <= 2 and used + 1 > limit) or (i > 2 and used >= limit) then return i end
  end
end
for i = 1, 2 do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIREAT', KEYS[i], ARGV[4 + i])
end
return 0
"""


class RedisCounters:
    def __init__(self, url: str):
        import redis.asyncio as redis

        self.redis = redis.Redis.from_url(url)
        self._take = self.redis.register_script(_TAKE)

    async def missing(self, keys: list[str]) -> list[str]:
        present = await self.redis.mget(keys)
        return [key for key, value in zip(keys, present) if value is None]

    async def seed(self, values: dict[str, int], ends: dict[str, float]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, value in values.items():
                pipe.set(key, value, nx=True, exat=int(ends[key]) + 1)
            await pipe.execute()

    async def take(self, keys: list[str], limits: list[int], ends: list[float]) -> int:
        return int(await self._take(keys=keys, args=[*limits, *(int(end) + 1 for end in ends)]))

    async def add(self, amounts: dict[str, int], ends: dict[str, float]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, amount in amounts.items():
                pipe.incrby(key, amount)
                pipe.expireat(key, int(ends[key]) + 1)
            await pipe.execute()

    async def get(self, key: str) -> int:
        return int(await self.redis.get(key) or 0)


_memory = MemoryCounters()
_redis: dict = {}


def counters() -> MemoryCounters | RedisCounters:
    if not settings.REDIS_URL:
        return _memory
    loop = asyncio.get_running_loop()
    found = _redis.get((loop, settings.REDIS_URL))
    if found is None:
        if len(_redis) > 8:
            _redis.clear()  # loops of finished tests
        found = _redis[(loop, settings.REDIS_URL)] = RedisCounters(settings.REDIS_URL)
    return found


def keys_for(user_id: int, periods: Periods) -> dict[str, str]:
    prefix = f"{settings.CHAT_REDIS_PREFIX}:quota:{user_id}"
    return {"daily_messages": f"{prefix}:day:{periods.day}:messages",
            "monthly_messages": f"{prefix}:month:{periods.month}:messages",
            "daily_tokens": f"{prefix}:day:{periods.day}:tokens",
            "monthly_tokens": f"{prefix}:month:{periods.month}:tokens"}


def _ends(periods: Periods) -> dict[str, float]:
    day, month = periods.day_ends.timestamp(), periods.month_ends.timestamp()
    return {"daily_messages": day, "monthly_messages": month, "daily_tokens": day, "monthly_tokens": month}


async def _seeded(user_id: int, periods: Periods) -> tuple[dict[str, str], dict[str, float]]:
    keys, ends = keys_for(user_id, periods), _ends(periods)
    store = counters()
    missing = await store.missing(list(keys.values()))
    if missing:
        used = await database_sync_to_async(used_so_far)(user_id, periods)
        await store.seed({keys[name]: used[name] for name in FIELDS if keys[name] in missing},
                         {key: ends[name] for name, key in keys.items()})
    return keys, ends


# --- the check and the count --------------------------------------------------------------------
async def check(*, user, client_id: str | None = None) -> None:
    """chat.hooks check: count this message, or refuse it with quota_exceeded."""
    limits = await cached_limits(user)
    if not any(limits.values()):
        return  # no budget at all: nothing to count either
    periods = Periods.at(now())
    keys, ends = await _seeded(user.pk, periods)
    refused = await counters().take([keys[name] for name in FIELDS], [limits[name] for name in FIELDS],
                                    [ends[name] for name in FIELDS])
    if refused:
        name = FIELDS[refused - 1]
        raise await _refusal(user, name, limits[name], keys[name], periods, client_id)


async def _refusal(user, name: str, limit: int, key: str, periods: Periods, client_id) -> ProtocolError:
    period, kind = ("day" if name.startswith("daily") else "month"), name.split("_")[1]
    resets_at = periods.day_ends if period == "day" else periods.month_ends
    used = await counters().get(key)
    signals.quota_refused.send(sender=check, period=period, kind=kind)
    when = resets_at.isoformat().replace("+00:00", "Z")
    what = "messages" if kind == "messages" else "tokens"
    return ProtocolError(
        QUOTA_EXCEEDED,
        f"You have used your {'daily' if period == 'day' else 'monthly'} budget of {limit:,} {what}; "
        f"it resets at {when}.",
        client_id=client_id,
        retry_after=max(1.0, round((resets_at - now()).total_seconds())),
        details={"quota": {"period": period, "kind": kind, "limit": limit, "used": used, "resets_at": when}},
        http_status=HTTP_STATUS,
    )


async def add_tokens(tallies: dict) -> None:
    """Count ended answers' tokens against the budgets of their users (usage.recorder)."""
    per_user: dict[int, int] = {}
    for (user_id, _model, _day), tally in tallies.items():
        per_user[user_id] = per_user.get(user_id, 0) + tally.input_tokens + tally.output_tokens
    periods = Periods.at(now())
    amounts, ends = {}, {}
    for user_id, spent in per_user.items():
        if not spent:
            continue
        keys, period_ends = keys_for(user_id, periods), _ends(periods)
        for name in ("daily_tokens", "monthly_tokens"):
            amounts[keys[name]] = spent
            ends[keys[name]] = period_ends[name]
    if amounts:
        # A counter not seeded yet starts from the database later, which then holds these
        # tokens already: only counters that exist are added to.
        store = counters()
        missing = set(await store.missing(list(amounts)))
        amounts = {key: value for key, value in amounts.items() if key not in missing}
        if amounts:
            await store.add(amounts, ends)
