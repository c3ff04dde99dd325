"""A channels-redis layer whose receive() can be cancelled without losing messages.

channels-redis pops every process-local channel's messages with one shared BZPOPMIN.
When the coroutine holding it is cancelled (a socket disconnects, an answer's stop
listener ends) after Redis popped a message but before the reply was read, the message
is lost, whichever channel it was for: we saw `message.delta` and `message.done`
frames vanish. Shielding the pop lets it finish; the message then sits in the layer's
own backup queue, which the next receive puts back in order.

The next pop must wait for a shielded one still running: two pops at once take two
messages, and the backup clean-up (ZPOPMIN: the oldest entry) then drops the wrong one,
so a frame is lost and the next one delivered twice (seen across reconnects in
tests/e2e).
"""
import asyncio

from channels_redis.core import RedisChannelLayer


class ReliableRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A message parked by a cancelled pop waits at most this long for the next one.
        self.brpop_timeout = 1
        self._pops: dict[str, asyncio.Future] = {}  # the latest pop per Redis key

    async def _brpop_with_clean(self, index, channel, timeout):
        previous = self._pops.get(channel)
        if previous is not None and not previous.done():
            await asyncio.wait({previous})  # its message lands in the backup queue first
        pop = asyncio.ensure_future(super()._brpop_with_clean(index, channel, timeout))
        self._pops[channel] = pop
        return await asyncio.shield(pop)
