"""Which communities exist, for the services that do not own them (routing, points).

Intake owns the directory; another service must not read intake's tables, and a roster, a rule or a member
file for a community intake does not know is an orphan nobody can reach. So a service asks intake by RPC,
before it opens any transaction (no network call inside one), and remembers each community intake
confirmed: intake has no way to remove a community, so a yes stays true, and the question costs one RPC per
community per process. A no is not remembered (the community may be created a moment later).
"""

from __future__ import annotations

from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy

from minqing.errors import InvalidInput, NotFound


class KnownCommunities(DependencyProvider):
    def setup(self):
        self.known: set[str] = set()

    def get_dependency(self, worker_ctx):
        return self.known


class CommunityCheck:
    """Mixed into a service: `self._require_community(code)` before its transaction."""

    intake = RpcProxy("intake")
    known_communities = KnownCommunities()

    def _require_community(self, code: str, field: str | None = None) -> None:
        """NotFound (a path or query naming the community), or InvalidInput naming `field` (a body's)."""
        if code in self.known_communities:
            return
        if not (isinstance(code, str) and self.intake.community_exists(code)):
            if field is None:
                raise NotFound(f"community {code!r} not found")
            raise InvalidInput(f"community {code!r} not found", {field: [f"unknown community {code!r}"]})
        self.known_communities.add(code)
