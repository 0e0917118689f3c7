"""Constants of the seeded sandbox corp that the tests use most."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SANDBOX_CORP = REPO / "config" / "sandbox-corp.yaml"
#: A member of app DEMO's visible range, bound to a host user by the ``stack``.
MEMBER = "chendongping"
#: The agentid of app DEMO.
AGENTID = 1000008
