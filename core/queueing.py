"""Handing a task to the broker without letting a broker outage fail the request.

`send(task, *args)` publishes the task and answers True, or, when the broker (Redis) cannot be
reached within the few seconds settings.CELERY_BROKER_* allow, logs it (once a minute:
settings.LOGGING) and answers False, so the caller records that the work is still to be
queued instead of answering 500 for work it has already committed. With no broker configured
(the embedded default) tasks run eagerly here and their own errors propagate as before.
"""

import logging

import kombu.exceptions
import redis.exceptions
from celery import current_app

logger = logging.getLogger(__name__)

# What publishing raises when the broker is away: kombu wraps the transport's connection errors
# in OperationalError after its retries; a refused or reset socket can surface as OSError.
BROKER_ERRORS = (
    kombu.exceptions.OperationalError,
    kombu.exceptions.ConnectionError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)


def eager():
    return bool(current_app.conf.task_always_eager)


def send(task, *args) -> bool:
    """Publish `task(*args)`; False (logged) when the broker cannot take it."""
    if eager():
        task.delay(*args)
        return True
    try:
        task.delay(*args)
    except BROKER_ERRORS:
        logger.warning("Broker unreachable: %s not queued", task.name, exc_info=True)
        return False
    return True
