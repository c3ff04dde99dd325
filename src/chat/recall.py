"""What this process remembers of the conversations its answers ran in: enough to guess a
follow-up's request (chat.sending) before the database is read.

Only a guess: the send's first hop reads the conversation all the same and its request
is kept only when the look's guess is the same (another tab, process or admin may have
changed the conversation since). What is remembered is what a send's look would read: the
conversation row and its messages (chat.selectors.SendLook), kept up to date with the
sends and answers that run here, and forgotten on everything else done here that changes
them. Bounded: the conversations used last, up to MAX_CHARS of message text. Used from
the event loop only (no lock).
"""
from collections import OrderedDict
from copy import copy

from .models import Conversation, Message
from .selectors import SendLook

MAX_CONVERSATIONS = 1000
MAX_CHARS = 8_000_000  # of message text, all conversations together (a long chat: 100,000)

_looks: "OrderedDict[tuple, SendLook]" = OrderedDict()
_chars: dict[tuple, int] = {}
# {user id: what a new chat of theirs gets (chat.choices.last_choice)}, as last read here.
_last_choices: dict = {}


def look(owner_id, conversation_id) -> SendLook | None:
    """What a send's look would read, as far as this process knows (None: nothing)."""
    key = (owner_id, str(conversation_id))
    found = _looks.get(key)
    if found is not None:
        _looks.move_to_end(key)
    return found


def sent(owner_id, conversation: Conversation, earlier: list[Message], question: Message,
         answer: Message) -> None:
    """A send stored `question` and opened `answer` after the `earlier` messages."""
    _keep((owner_id, str(conversation.id)), SendLook(copy(conversation), [*earlier, question, copy(answer)]))


def answered(owner_id, answer: Message) -> None:
    """`answer` (its final row) ended: the next send's context holds its text."""
    key = (owner_id, str(answer.conversation_id))
    found = _looks.get(key)
    if found is None:
        return
    messages = [answer if m.id == answer.id else m for m in found.messages]
    _keep(key, SendLook(found.conversation, messages))


def forget(owner_id, conversation_id) -> None:
    """The conversation changed otherwise than by a send or an answer of this process."""
    key = (owner_id, str(conversation_id))
    _looks.pop(key, None)
    _chars.pop(key, None)


def last_choice(user_id) -> dict | None:
    return _last_choices.get(user_id)


def chose(user_id, last: dict | None) -> None:
    """What a new chat of this user gets (None: not known any more)."""
    if last is None:
        _last_choices.pop(user_id, None)
    else:
        if len(_last_choices) >= MAX_CONVERSATIONS and user_id not in _last_choices:
            _last_choices.clear()
        _last_choices[user_id] = dict(last)


def clear() -> None:
    _looks.clear()
    _chars.clear()
    _last_choices.clear()


def _keep(key: tuple, seen: SendLook) -> None:
    chars = sum(len(m.content) for m in seen.messages)
    forget(*key)
    if chars > MAX_CHARS // 8:
        return  # one very long chat would push out many
    _looks[key], _chars[key] = seen, chars
    total = sum(_chars.values())
    while len(_looks) > MAX_CONVERSATIONS or total > MAX_CHARS:
        oldest, _ = _looks.popitem(last=False)
        total -= _chars.pop(oldest)
