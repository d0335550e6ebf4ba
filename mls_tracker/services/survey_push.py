"""Survey responses pushed as values (by an LMS or a survey tool, through the API): checked
row by row exactly as a file's rows are, saved all or none, idempotent by response id, and
recorded as an import, proposed until a lead confirms it when a provider pushes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mls_tracker import access, audit
from mls_tracker.access import Action
from mls_tracker.extensions import db
from mls_tracker.models import Partnership, SurveyFormat, User
from mls_tracker.models.satisfaction import ImportState
from mls_tracker.services import locking
from mls_tracker.services import survey_import as imports
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.survey_files import Column

#: The most responses one push may carry (a larger batch is refused as a whole).
MAX_RESPONSES = 10_000
#: What the import history shows for a push, in place of a file name.
PUSH_NAME = "API push"
#: The fields a response may carry: those a survey file's columns are mapped to.
FIELDS = imports.FIELDS
ADVICE = "Fix them and send the whole batch again."
CHOICE_HINT = "send the number it stands for"
BUSY = "Another push to this partnership was being saved at the same time. Send this one again."

# A pushed response is a row of a generic file whose every column is mapped to its field.
_COLUMNS = tuple(Column(i, name, imports.FIELD_LABELS[name], ()) for i, name in enumerate(FIELDS))
_MAPPING = imports.Mapping(format=SurveyFormat.GENERIC, columns={name: name for name in FIELDS})


@dataclass(frozen=True)
class PushResult:
    """What a push did: its import (None when every response was stored already)."""

    import_id: int | None
    state: ImportState | None
    received: int
    added: int
    skipped: int  # already stored (by an earlier push or a file import)
    no_answer: int  # neither a rating nor a recommend answer: left out, as from a file


class PushRefused(imports.ImportRefused):
    """Some responses have problems (``outcome.problems``, each ``row`` the response's index
    in the batch, from 0): nothing was saved."""

    def __init__(self, outcome: imports.Outcome) -> None:
        super().__init__(outcome, ADVICE)


def cell(value: Any) -> str:
    """A pushed value as the text a file's cell would hold: the file import's rules then
    read it (numbers, ISO 8601 times, region names). NUL characters are dropped, as from
    files: no database stores them in text."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        text = value.isoformat()
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value)
    else:  # true/false, lists, objects: shown as sent, refused by the rules that read them
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text.replace("\x00", "").strip()


def _rows(responses: Sequence[Mapping[str, Any]]) -> Iterator[tuple[int, list[str]]]:
    for number, response in enumerate(responses):
        yield number, [cell(response.get(name)) for name in FIELDS]


def _digest(responses: Sequence[Mapping[str, Any]]) -> str:
    raw = json.dumps(
        [{name: cell(response.get(name)) for name in FIELDS} for response in responses],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(raw.encode()).hexdigest()


def _serialise_pushes(partnership_id: int) -> None:
    """Hold the partnership's row until this push commits, so that two pushes of the same
    responses at once (a client retrying after a timeout) run one after the other and the
    second skips what the first stored. FOR NO KEY UPDATE does not block other writes that
    merely reference the partnership; SQLite serialises writers anyway (no clause there)."""
    db.session.execute(
        sa.select(Partnership.id)
        .where(Partnership.id == partnership_id)
        .with_for_update(key_share=True)
    )


def push_responses(
    actor: User, partnership_id: int, responses: Sequence[Mapping[str, Any]]
) -> PushResult:
    """Store a batch of survey responses for one partnership, all or none.

    Every response is checked by the file import's own row rules (``RowReader``): a response
    id is required, ``submitted_at`` is ISO 8601 and not in the future, ``rating`` 1–5,
    ``recommend`` 0–10, ``region`` one of the partnership's regions by name. Any problem
    refuses the whole batch (PushRefused, listing every problem). Responses whose id the
    partnership holds already are skipped and counted, so sending a batch again adds
    nothing. The new responses form one import: a lead's counts at once, a provider's is
    proposed until a lead confirms it, as for a file they upload."""
    access.require(actor, Action.UPLOAD_SURVEYS, partnership_id, message=imports.ROLE_REFUSED)
    if len(responses) > MAX_RESPONSES:
        raise ValidationFailed(
            f"A push may hold at most {MAX_RESPONSES:,} responses; this one holds "
            f"{len(responses):,}. Send them in smaller batches.",
            field="responses",
        )
    regions = imports.partnership_regions(partnership_id)
    reader = imports.RowReader(_COLUMNS, _MAPPING, regions, None, choice_hint=CHOICE_HINT)

    def run(import_id: int) -> imports.Outcome:
        outcome = imports.Outcome()
        # Every problem is answered, not the first few hundred: the batch is bounded.
        log = imports.ProblemLog(outcome, None, shown=None)
        imports.process_rows(
            _rows(responses),
            reader,
            partnership_id,
            log,
            import_id=import_id,
            where="in responses[{}]".format,
        )
        return outcome

    with audit.acting_as(actor.id), locking.guarded_save(BUSY):
        _serialise_pushes(partnership_id)
        try:
            record, outcome = imports.record_import(
                actor,
                partnership_id,
                run,
                advice=ADVICE,
                file_name=PUSH_NAME,
                file_format=SurveyFormat.GENERIC,
                file_sha256=_digest(responses),
            )
        except imports.ImportRefused as refused:
            raise PushRefused(refused.outcome) from refused
        if not outcome.new:
            # Nothing new: no empty import waits in the lead's queue.
            db.session.rollback()
            return PushResult(None, None, len(responses), 0, outcome.duplicates, outcome.no_answer)
        result = PushResult(
            import_id=record.id,
            state=record.state,
            received=len(responses),
            added=outcome.new,
            skipped=outcome.duplicates,
            no_answer=outcome.no_answer,
        )
    return result
