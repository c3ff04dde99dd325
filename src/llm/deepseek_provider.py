"""DeepSeek, or any OpenAI-compatible server that streams `reasoning_content`, via ChatDeepSeek.

ChatDeepSeek copies each delta's `reasoning_content` (or OpenRouter's `reasoning`) into
`AIMessageChunk.additional_kwargs["reasoning_content"]`; we stream it as the reasoning part.
"""

from langchain_deepseek import ChatDeepSeek

from ._langchain import LangChainProvider, client_options
from .base import LLMConfig
from .network import async_client

DEFAULT_MODEL = "deepseek-reasoner"


class DeepSeekProvider(LangChainProvider):
    name = "deepseek"
    stream_reasoning = True

    def __init__(self, config: LLMConfig):
        options = client_options(config, DEFAULT_MODEL)
        if config.base_url:
            options["api_base"] = config.base_url  # ChatDeepSeek's name (alias base_url)
        super().__init__(config, lambda: ChatDeepSeek(http_async_client=async_client(), **options), options["model"])
