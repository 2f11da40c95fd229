"""Adapters to the outside: the LiteLLM gateway and local providers, HTTP tools, the store, media, knowledge."""
