"""A Telegram-style "Impostor" bot (seed 000) persisting one round through game-persist.

The bot keeps playing as it did; game-persist stores the lobby, the round, the votes, the discussion
and the results, and gives the bot its games back after a restart. Run against a server:

    GP_API_URL=http://127.0.0.1:8080 GP_API_KEY=gpk_… python3 clients/python/examples/impostor_bot.py
"""

import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from game_persist import Client  # noqa: E402


def play_round(gp: Client, chat_id: int, game_id: str, players: list) -> dict:
    """One game in a group chat: lobby, roles, tasks, a discussion and a vote, then the end."""
    gp.queue_entered(chat_id, players[0])  # /join before the game starts
    gp.session_created(game_id, game_type="impostor", tenant=str(chat_id), created_by=players[0])
    impostor = random.Random(game_id).choice(players)
    for p in players:
        gp.player_joined(game_id, p, role="impostor" if p == impostor else "crewmate")
    gp.queue_left(chat_id, players[0], reason="joined", session_id=game_id)
    gp.session_started(game_id)
    for p in players:
        if p != impostor:
            gp.task_completed(game_id, p, "swipe card", xp=10)
    gp.chat_message(game_id, players[0], f"I think it's {impostor}", channel="discussion", round=1)
    for p in players:
        gp.vote(game_id, p, impostor if p != impostor else players[0], round=1)
    winners = [p for p in players if p != impostor]
    for p in players:
        gp.player_outcome(game_id, p, "loss" if p == impostor else "win", xp=5 if p == impostor else 20)
    gp.session_finished(game_id, winners=winners, result="crewmates")
    gp.flush()
    return {"impostor": impostor, "winners": winners}


def restore(gp: Client, game_id: str) -> dict:
    """What the bot does on start-up for each game it was running: get it back."""
    rec = gp.recover(game_id)
    return {
        "status": rec["session"]["status"],
        "players": sorted(p["playerId"] for p in rec["participants"]),
        "roles": {p["playerId"]: p["role"] for p in rec["participants"]},
    }


if __name__ == "__main__":
    with Client(os.environ["GP_API_URL"], os.environ["GP_API_KEY"]) as gp:
        game = f"impostor-{random.randrange(10**9)}"
        print(play_round(gp, -100123, game, ["anna", "boris", "chen", "dana"]))
        gp.wait_persisted(game)
        print(restore(gp, game))
        print(gp.player_stats("anna"))
