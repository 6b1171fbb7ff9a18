"""Lua scripts queued in a pipeline or transaction."""

from collections.abc import Sequence
from typing import Any

from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript


def queue_script(pipe: Pipeline, script: AsyncScript, keys: Sequence[Any], args: Sequence[Any]) -> None:
    """Queue a Lua script (redis-py's own call is a coroutine there); the pipeline loads the script
    on the server before it executes if needed. A cluster's pipeline cannot: there the script goes
    whole (EVAL), so that a master promoted in a failover, which never loaded it, runs it too."""
    if not hasattr(pipe, "scripts"):
        pipe.execute_command("EVAL", script.script, len(keys), *keys, *args)
        return
    pipe.scripts.add(script)
    pipe.evalsha(script.sha, len(keys), *keys, *args)
