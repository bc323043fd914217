"""HTTP layer: a thin FastAPI app over `bot.assistant`."""

from bot.service.app import create_app

__all__ = ["create_app"]
