"""Dependencies shared by the routes, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from bot.assistant import Assistant
from bot.audit import AuditLog
from bot.settings import Settings


def get_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_audit(request: Request) -> AuditLog:
    return request.app.state.audit


def get_templates(request: Request) -> Jinja2Templates:
    return request.app.state.templates


AssistantDep = Annotated[Assistant, Depends(get_assistant)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
AuditDep = Annotated[AuditLog, Depends(get_audit)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
