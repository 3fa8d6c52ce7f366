"""Who may see which clue: an account's role and scope, as SQL, and the deadline colours.

Outside an account's scope a clue does not exist for it: every list, page and action of the
workbench selects clues through `visible`, so a clue of another district (or domain, or, for
a reviewer, assigned to someone else, or, for a department, not handed over to it) is left
out of lists and answers 404 by direct URL. A clue whose subject has no place belongs to
`CITY_LEVEL` (市本级), which a scope names like any district.
Clues of a draft rule (``status: draft``: it runs in shadow) are never clues for anyone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

ROLES = ("admin", "supervisor", "reviewer", "department")
ROLE_ZH = {"admin": "管理员", "supervisor": "督办人", "reviewer": "核查人", "department": "责任部门"}
STATUSES = ("new", "assigned", "answered", "closed")
STATUS_ZH = {"new": "待分派", "assigned": "核查中", "answered": "待销号", "closed": "已销号"}
COLORS = ("green", "yellow", "red")
#: Reviewers' dispositions (crosscheck.store.reviews reads their Chinese and English aliases).
DISPOSITIONS = ("confirmed", "false_positive", "explained")
DISPOSITION_ZH = {"confirmed": "属实", "false_positive": "误报", "explained": "已解释"}
COLOR_ZH = {"green": "绿", "yellow": "黄", "red": "红"}
CITY_LEVEL = "市本级"
#: Clues with their rule (titles, domain, draft or not), as every query selects them.
CLUE_FROM = "FROM clues c LEFT JOIN rules r ON r.rule_id = c.rule_id"
#: The operator at the console (`crosscheck review mark|import|outcome`): no account, every clue.
OPERATOR = "operator"


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    districts: tuple[str, ...] = ()     # empty: every district
    domains: tuple[str, ...] = ()       # empty: every domain (rule folder)
    unmask: bool = False                # may ask to see identity numbers and names in full (logged)
    disabled: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    def public(self) -> dict:
        return {"username": self.username, "role": self.role, "districts": list(self.districts),
                "domains": list(self.domains), "unmask": self.unmask, "disabled": self.disabled}

    def overlaps(self, other: "Account") -> bool:
        """Whether some clue could lie in both this account's scope and ``other``'s."""
        return ((not self.districts or not other.districts or bool(set(self.districts) & set(other.districts)))
                and (not self.domains or not other.domains or bool(set(self.domains) & set(other.domains))))

    def covers(self, district: str | None, domain: str | None) -> bool:
        """Whether a clue of ``district`` and ``domain`` lies in this account's districts and domains."""
        return ((not self.districts or (district or "") in self.districts)
                and (not self.domains or (domain or "") in self.domains))


def visible(account: Account | None, alias: str = "c") -> tuple[str, list]:
    """SQL condition (on ``clues {alias}`` joined with ``rules r``) and its parameters: the
    clues this account may see. ``None`` is the operator: every clue but draft rules'."""
    parts = ["coalesce(r.rule_status, 'stable') <> 'draft'"]
    params: list = []
    if account is not None:
        if account.districts:
            parts.append(f"{alias}.district IN ({', '.join('?' * len(account.districts))})")
            params += list(account.districts)
        if account.domains:
            parts.append(f"{alias}.domain IN ({', '.join('?' * len(account.domains))})")
            params += list(account.domains)
        if account.role == "reviewer":
            parts.append(f"{alias}.assignee = ?")
            params.append(account.username)
        elif account.role == "department":  # only what a supervisor handed over to it (转办)
            parts.append(f"{alias}.finding_key IN (SELECT h.finding_key FROM handovers h WHERE h.department = ?)")
            params.append(account.username)
    return " AND ".join(parts), params


def color_of(status: str | None, deadline: str | date | None, today: date, warn_days: int) -> str | None:
    """三色预警 of an assigned clue: green while more than ``warn_days`` days remain, yellow
    within them, red once overdue; None when no deadline runs (not assigned, or answered)."""
    if status != "assigned" or not deadline:
        return None
    return colour_of_days(days_left(deadline, today), warn_days)


def colour_of_days(left: int | None, warn_days: int) -> str | None:
    """The colour of a deadline ``left`` days away (None: no deadline runs)."""
    if left is None:
        return None
    if left < 0:
        return "red"
    return "yellow" if left <= warn_days else "green"


def days_left(deadline: str | date, today: date) -> int:
    d = deadline if isinstance(deadline, date) else date.fromisoformat(str(deadline)[:10])
    return (d - today).days


def color_sql(color: str, today: date, warn_days: int, alias: str = "c") -> tuple[str, list]:
    """SQL condition for clues of one deadline colour (the same thresholds as `color_of`)."""
    t = today.isoformat()
    warn = (today + timedelta(days=warn_days)).isoformat()
    base = f"{alias}.status = 'assigned' AND {alias}.deadline IS NOT NULL AND "
    if color == "red":
        return base + f"{alias}.deadline < ?", [t]
    if color == "yellow":
        return base + f"{alias}.deadline >= ? AND {alias}.deadline <= ?", [t, warn]
    return base + f"{alias}.deadline > ?", [warn]
