"""The Impostor bot's commands (seed 000), answered from game-persist's read API in the seed's format:
/stats, /leaderboard <session>, /chatstats, /global and /recent. Run through
``python3 examples/impostor/bot.py --answer <command> [arg]``.
"""

from typing import Optional

from game_persist import Client


def display(player: str) -> str:
    """A player's name from its id (``<run>-anna`` -> ``Anna``)."""
    return player.rsplit("-", 1)[-1].title()


MEDALS = ["🥇", "🥈", "🥉"]
OUTCOME = {"win": "✅ win", "loss": "❌ lose", "draw": "🤝 draw"}
STATUS = {"finished": "✅ finished", "started": "▶️ in progress", "created": "⏳ waiting", "abandoned": "💤 abandoned"}


def title(xp: int) -> str:
    for limit, name in ((100, "Newcomer"), (300, "Apprentice"), (700, "Detective"), (1200, "Expert")):
        if xp < limit:
            return name
    return "Legend"


def medal(rank: int) -> str:
    return MEDALS[rank - 1] if rank <= 3 else f"{rank}."


def pct(x: Optional[float]) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def answer_stats(gp: Client, player: str) -> str:
    """/stats: the player's impostor games (player_stats)."""
    st = gp.player_stats(player)
    s = st and (st["games"].get("impostor") or st["all"])
    if not s:
        return f"📊 No games yet for {display(player)}"
    games = s["games"]
    lines = [
        f"📊 Player Statistics — {st['name'] or display(player)}",
        "",
        f"🏷️ Title: {title(s['xp'])}",
        f"✨ Total XP: {s['xp']}",
        f"🎮 Games Played: {games}",
        f"🏆 Games Won: {s['wins']}",
        f"📈 Win Rate: {pct(s['wins'] / games if games else None)}",
        f"🔧 Tasks Completed: {s['tasks']}",
        f"🛠️ Fake Tasks: {s['fakeTasks']}",
        f"💀 Losses: {s['losses']}",
        "",
        "🎯 Performance:",
        f"• Average XP per game: {s['xp'] / games if games else 0:.1f}",
        f"• Task efficiency: {s['tasks'] / games if games else 0:.1f} tasks/game",
    ]
    return "\n".join(lines)


def answer_leaderboard(gp: Client, session: str) -> str:
    """/leaderboard <session>: its players by XP (outcome XP and task XP), with role and outcome."""
    board = gp.session_leaderboard(session)
    if not board:
        return f"🏆 No session {session}"
    lines = [f"🏆 Session #{session} Leaderboard"]
    for p in board["players"]:
        if p["outcome"] is None:
            continue  # joined the lobby and left before the game
        lines += ["", f"{medal(p['rank'])} {p['name'] or display(p['playerId'])}", f"   ✨ XP: {p['xp']} | 🎭 Role: {p['role']} | {OUTCOME.get(p['outcome'], p['outcome'])}"]
    return "\n".join(lines)


def chat_name(chat: str) -> str:
    return f"Gaming Group #{int(chat.rsplit('-', 1)[-1]) + 1}" if chat.rsplit("-", 1)[-1].isdigit() else chat


def answer_chatstats(gp: Client, chat: str, days: int = 7) -> str:
    """/chatstats: the chat's sessions (tenant_stats) and who talked most in its discussions (tenant_chat)."""
    st = gp.tenant_stats(chat, days=days)
    talk = gp.tenant_chat(chat, days=days)
    lines = [
        f"📊 Chat Statistics — {chat_name(chat)}",
        "",
        f"🎮 Total Sessions: {st['total']}",
        f"⏳ Active Sessions: {st['active']}",
        f"✅ Completed Sessions: {st['completed']}",
        f"📈 Completion Rate: {pct(st['completionRate'])}",
    ]
    if talk["players"]:
        lines += ["", "💬 Discussion Messages:"]
        # Most messages first, then by player id: the order the API gives.
        for p in talk["players"]:
            lines.append(f"• {p['name'] or display(p['playerId'])}: {p['messages']}")
    lines += ["", f"📅 Time Period: Last {days} days"]
    return "\n".join(lines)


def answer_global(gp: Client, limit: int = 10) -> str:
    """/global: the all-time impostor board by XP."""
    board = gp.leaderboard("xp", game="impostor", limit=limit)
    lines = ["🌍 Global Leaderboard"]
    for r in board["rows"]:
        if not r["games"]:
            continue  # joined a lobby and left before the game
        lines += ["", f"{medal(r['rank'])} {r['name'] or display(r['playerId'])}", f"   ✨ XP: {r['value']} | 🎮 Games: {r['games']} | 🏆 Wins: {r['wins']}"]
    return "\n".join(lines)


def answer_recent(gp: Client, chat: str, limit: int = 5) -> str:
    """/recent: the chat's latest sessions, with the side that won (the `result` of each one's session.finished)."""
    lines = ["🕒 Recent Game Sessions"]
    for sess in gp.recent_sessions(tenant=chat, limit=limit):
        line = f"🎮 {sess['name'] or sess['id']} — {STATUS.get(sess['status'], sess['status'])}"
        detail = f"   👥 Players: {sess['players']}"
        if sess["result"]:
            detail += f" | 🏆 {sess['result']} won"
        lines += ["", line, detail]
    return "\n".join(lines)


ANSWERS = {"stats": answer_stats, "leaderboard": answer_leaderboard, "chatstats": answer_chatstats, "global": answer_global, "recent": answer_recent}
