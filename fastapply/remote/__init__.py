"""Remote backends: models served elsewhere over an OpenAI-compatible API, behind ``Backend``."""
