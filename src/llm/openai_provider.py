"""OpenAI, or any OpenAI-compatible server, through LangChain's ChatOpenAI."""

from langchain_openai import ChatOpenAI

from ._langchain import LangChainProvider, client_options
from .base import LLMConfig
from .network import async_client

DEFAULT_MODEL = "gpt-4o-mini"


class OpenAIProvider(LangChainProvider):
    name = "openai"

    def __init__(self, config: LLMConfig):
        options = client_options(config, DEFAULT_MODEL)
        super().__init__(
            config,
            lambda: ChatOpenAI(base_url=config.base_url, http_async_client=async_client(), **options),
            options["model"],
        )
