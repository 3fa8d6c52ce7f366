"""The workbench's JSON bodies and answers as pydantic models: the contract other systems read
(`GET /openapi.json`, for a logged-in supervisor) and the shape every request is checked
against before the casework sees it. Values a person types (amounts, deadlines, notes) are
taken as text or numbers here and judged by the casework, which says in Chinese what is wrong."""
from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

Amount = Union[StrictStr, StrictInt, StrictFloat, None]


class Body(BaseModel):
    """A request body: a JSON object, unknown fields refused."""

    model_config = ConfigDict(extra="forbid")


class LoginBody(Body):
    username: StrictStr
    password: StrictStr


class AssignBody(Body):
    assignee: Optional[StrictStr] = None
    deadline: Optional[StrictStr] = Field(None, description="YYYY-MM-DD, from today to max_deadline_days ahead")


class BulkAssignBody(AssignBody):
    keys: list[StrictStr] = Field(default_factory=list, description="1 to 5000 finding keys")


class DispositionBody(Body):
    disposition: Optional[StrictStr] = Field(None, description="confirmed | false_positive | explained (属实 / 误报 / 已解释)")
    note: Optional[StrictStr] = None
    amount_recovered: Amount = Field(None, description="yuan, a plain decimal ≥ 0 with at most 2 places")
    above_amount_at_risk: bool = Field(False, description="say so to record more than the amount at risk")
    rectification: Optional[StrictStr] = None
    voucher: Union[StrictInt, StrictStr, None] = Field(None, description="the id of an attachment of the clue: the voucher")


class NoteBody(Body):
    note: Optional[StrictStr] = None


class HandoverBody(Body):
    department: Optional[StrictStr] = None
    deadline: Optional[StrictStr] = None
    request: Optional[StrictStr] = None


class DepartmentAnswerBody(Body):
    """整改反馈: what was rectified and the money returned."""

    note: Optional[StrictStr] = None
    rectified: Optional[StrictStr] = None
    amount_returned: Amount = None


class CommentBody(Body):
    text: Optional[StrictStr] = None


# -- answers --------------------------------------------------------------------------

class Answer(BaseModel):
    """An answer: the fields below, and others the workbench adds for its pages."""

    model_config = ConfigDict(extra="allow")


class LoginAnswer(Answer):
    csrf_token: str
    role: str
    username: str
    expires_at: str


class ClueItem(Answer):
    finding_key: str
    rule_id: str
    district: Optional[str]
    severity: Optional[str]
    amount_at_risk: Optional[float]
    status: str
    assignee: Optional[str]
    deadline: Optional[str]
    color: Optional[str]
    person_id: Optional[str]
    name: Optional[str]


class ClueList(Answer):
    total: int
    clues: list[ClueItem]


class ClueDetail(ClueItem):
    evidence: Optional[str]
    evidence_fields: Optional[Any]
    sources: list[str]
    disposition: Optional[dict]
    amount_recovered: Optional[float]
    feedback: list[dict]
    history: list[dict]


class BulkAssigned(Answer):
    assigned: int
    clues: list[ClueDetail]


class AuditEntry(Answer):
    at: str
    user: str
    action: str
    finding_key: Optional[str]
    before: Any
    after: Any


class AuditAnswer(Answer):
    total: int
    entries: list[AuditEntry]


class Figures(Answer):
    clues: int
    confirmed: int
    false_positives: int
    explained: int
    open: int
    overdue: int
    confirmation_rate: Optional[float]
    amount_at_risk: Optional[float]
    amount_recovered: Optional[float]


class DashboardAnswer(Answer):
    totals: Figures
    by_rule: list[dict]
    by_district: list[dict]


class Comment(Answer):
    id: int
    at: str
    user: str
    text: str


class Comments(Answer):
    comments: list[Comment]


class Attachment(Answer):
    id: int
    name: str
    size: int
    sha256: str
    type: str


class Attachments(Answer):
    attachments: list[Attachment]


class Workload(Answer):
    assignee: str
    open: int
    yellow: int
    red: int
    answered_this_month: int


class MyWork(Answer):
    mine: list[ClueItem]
    due_soon: list[ClueItem]
    overdue: list[ClueItem]
    workload: Optional[list[Workload]] = None


class Assignees(Answer):
    assignees: list[dict]
