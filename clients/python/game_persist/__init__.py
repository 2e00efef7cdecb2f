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

See README.md ("From Python") and docs/http.md in the game-persist repository.
"""

from .client import ApiError, Client, PublishError, Rejected, merge_patch, uuid7

__all__ = ["ApiError", "Client", "PublishError", "Rejected", "merge_patch", "uuid7"]
__version__ = "0.1.0"
