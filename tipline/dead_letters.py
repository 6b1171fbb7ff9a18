"""Dead letters replayed in bulk: what the room does once the fix is in (`tipline dlq replay
--all`, and a scenario's replay step)."""

import httpx

from tipline.console import call


def replay_all(tracker: str, key: str, page: int = 1000) -> tuple[int, int]:
    """Replay every dead letter not replayed yet, page by page (a dead letter of the dead-letter
    stream itself excepted: it has no source to go back to); (replayed, waiting)."""
    with httpx.Client() as client:
        return _replay_all(client, f"{tracker}/v1/dead-letters", key, page)


def _replay_all(client: httpx.Client, base: str, key: str, page: int) -> tuple[int, int]:
    waiting, before = [], None
    while True:
        params = {"limit": page, **({"before": before} if before else {})}
        r = call("GET", base, key, client, params=params)
        r.raise_for_status()
        letters = r.json()
        waiting += [x["id"] for x in letters if not x["replayed"]
                    and not x["sourceStream"].endswith("dead-letters")]
        if len(letters) < page:
            break
        before = letters[-1]["id"]
    replayed = 0
    for letter_id in reversed(waiting):  # oldest first, as they failed
        r = call("POST", f"{base}/{letter_id}/replay", key, client)
        if r.status_code == 409:  # replayed meanwhile, by someone else
            continue
        r.raise_for_status()
        replayed += 1
    return replayed, len(waiting)
