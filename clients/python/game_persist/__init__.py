"""game-persist client for Python 3.9+, standard library only.

Publishes game events to a game-persist HTTP API (``game-persist serve``) and reads back what the
workers stored: recovery after a restart, read-your-writes, player stats and leaderboards.

    from game_persist import Client

    gp = Client("http://127.0.0.1:8080", api_key=os.environ["GP_API_KEY"])
    gp.session_created("room-1", game_type="impostor", tenant="chat-42")
    gp.player_joined("room-1", "alice", role="crewmate")
    gp.flush()                      # or let the background thread send (batch_size / linger_ms)
    state = gp.recover("room-1")
    gp.close()

It logs to the ``game_persist`` logger and adds only a NullHandler (configure ``logging`` to see it).
See README.md ("From Python") and docs/http.md in the game-persist repository.
"""

import logging

from .client import Client
from ._errors import ApiError, BufferFullError, GamePersistError, PublishError, Rejected
from ._transport import retry_after_seconds
from ._wire import Event, Id, merge_patch, uuid7

__all__ = [
    "ApiError",
    "BufferFullError",
    "Client",
    "Event",
    "GamePersistError",
    "Id",
    "PublishError",
    "Rejected",
    "merge_patch",
    "retry_after_seconds",
    "uuid7",
]
# The one place the version is written: the build backend (tools/build_backend.py) reads it from here.
__version__ = "0.1.0"

# A library's logging convention: no output unless the application configures logging.
logging.getLogger("game_persist").addHandler(logging.NullHandler())
