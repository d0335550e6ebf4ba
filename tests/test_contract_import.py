"""The partnership workbook import: template, upload, preview with problems by sheet and row,
the all-or-nothing import job, re-importing, the command line, and bad workbooks."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import (
    ActionItem,
    AuditEntry,
    Expectation,
    Invitation,
    MeasurementState,
    Sla,
    SlaMeasurement,
    SlaTarget,
    Sponsor,
)
from mls_tracker.services import contract_import as service
from mls_tracker.services.contract_workbook import SHEETS, read_workbook
from tests.conftest import csrf_token, sign_in
from tests.factories import create_region

REALISTIC = Path(__file__).parent / "data" / "contract_import" / "realistic.xlsx"
HEADINGS = {sheet.name: [c.heading for c in sheet.columns] for sheet in SHEETS}


def base(world) -> str:
    return f"/partnerships/{world.partnership.id}/import"


def workbook(**sheets: list[list]) -> bytes:
    """An XLSX with the template's headings and these rows (sheet name → rows)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        page = book.create_sheet(name)
        page.append(HEADINGS.get(name, ["Something"]))
        for row in rows:
            page.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


SLA = ["SLA-1", "On-time delivery", "%", "higher is better", 95, 90, 1, "2025-01", "Delivery"]


def counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Sla, SlaTarget, Sponsor, Expectation, ActionItem, SlaMeasurement)
    }


def upload(client, world, data: bytes, name: str = "book.xlsx"):
    token = csrf_token(client, base(world))
    return client.post(
        base(world),
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def add_demo_regions():
    create_region("North America", 3)  # NA
    create_region("LATAM", 4)
    create_region("India", 5)  # INDIA
    db.session.commit()


# ----------------------------------------------------------------------------- the template


def test_template_has_every_sheet_and_instructions(client, world):
    sign_in(client, world.lead.email)
    response = client.get("/import/template.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == [
        "Instructions",
        "SLAs",
        "Sponsors",
        "Expectations",
        "Actions",
        "Actuals",
    ]
    assert [c.value for c in book["SLAs"][1]] == [
        "Code",
        "Name",
        "Unit",
        "Direction",
        "Target",
        "At-risk threshold",
        "Weight",
        "Effective from",
        "Category",
    ]
    instructions = " ".join(str(c.value) for row in book["Instructions"] for c in row if c.value)
    assert "higher is better, lower is better" in instructions
    archive = zipfile.ZipFile(io.BytesIO(client.get("/import/template-csv.zip").data))
    assert sorted(archive.namelist()) == [
        "actions.csv",
        "actuals.csv",
        "expectations.csv",
        "slas.csv",
        "sponsors.csv",
    ]
    assert archive.read("actuals.csv").decode().strip() == "SLA code,Month,Value"


def test_the_empty_template_imports_nothing_without_problems(app, world, tmp_path):
    path = tmp_path / "t.xlsx"
    from mls_tracker.services.contract_workbook import template_xlsx

    path.write_bytes(template_xlsx())
    plan = service.check(world.partnership.id, read_workbook(path, "t.xlsx"), service.Decisions())
    assert plan.problems == [] and plan.total_new == 0


# ----------------------------------------------------------------------------- the working path


def test_realistic_workbook_through_the_pages(client, world, mailbox):
    add_demo_regions()
    before = counts()
    sign_in(client, world.lead.email)
    response = upload(client, world, REALISTIC.read_bytes(), "realistic.xlsx")
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "No problems found" in page
    counts_table = re.sub(r"\s+", " ", page.split('id="counts"')[1].split("</table>")[0])
    assert 'SLAs</td><td class="text-end">16<' in counts_table
    assert 'Actuals</td><td class="text-end">384<' in counts_table
    assert counts() == before  # the preview wrote nothing
    assert "marc.olsen@provider.example" in page  # an unknown action owner, listed
    field = re.search(r'name="(person_[0-9a-f]+)"', page)[1]

    token = csrf_token(client, preview_url)
    response = client.post(
        preview_url, data={"csrf_token": token, field: "provider", "submit": "Import"}
    )
    assert response.status_code == 302
    result = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Import finished" in result
    assert "Actuals: 384 added" in result
    pid = world.partnership.id
    slas = db.session.scalars(sa.select(Sla).where(Sla.partnership_id == pid)).all()
    assert len([s for s in slas if s.code.startswith(("DEL", "QUA", "OPS", "FIN", "CON"))]) == 16
    delivery = next(s for s in slas if s.code == "DEL-01")
    assert [(str(t.effective_from), t.target) for t in delivery.targets] == [
        ("2024-01", 95),
        ("2025-01", 96),
    ]
    states = set(
        db.session.scalars(sa.select(SlaMeasurement.state).join(Sla).where(Sla.code == "DEL-01"))
    )
    assert states == {MeasurementState.CONFIRMED}  # a lead's import is confirmed
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Invitation)
            .where(Invitation.email == "marc.olsen@provider.example")
        )
        == 1
    )
    assert any("marc.olsen@provider.example" in str(m["To"]) for m in mailbox)
    # The audit log has the rows, by the lead.
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.object_type == "SlaMeasurement", AuditEntry.actor_id == world.lead.id)
        )
        == 384
    )
    # The overview shows the imported figures.
    overview = client.get(f"/partnerships/{pid}").get_data(as_text=True)
    assert "On-time course delivery" in overview or "SLA" in overview

    # The same workbook again adds nothing.
    after = counts()
    response = upload(client, world, REALISTIC.read_bytes(), "realistic.xlsx")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    counts_table = re.sub(r"\s+", " ", page.split('id="counts"')[1].split("</table>")[0])
    assert 'Actuals</td><td class="text-end">0</td><td class="text-end">384<' in counts_table
    token = csrf_token(client, response.headers["Location"])
    client.post(response.headers["Location"], data={"csrf_token": token, "submit": "Import"})
    assert counts() == after


def test_unknown_region_is_mapped_in_the_preview(client, world):
    data = workbook(Sponsors=[["Ann Lee", "ann@x.example", "Europe", "client", "2025-01-01", ""]])
    sign_in(client, world.lead.email)
    preview_url = upload(client, world, data).headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "Sponsors, row 2" in page and "The region “Europe” is not known" in page
    assert "Create it as a new region" not in page  # leads map; admins may create
    field = re.search(r'name="(region_[0-9a-f]+)"', page)[1]
    emea = next(r for r in world.partnership.regions if r.code == "EMEA")
    token = csrf_token(client, preview_url)
    page = client.post(
        preview_url, data={"csrf_token": token, field: str(emea.id), "check": "Check again"}
    ).get_data(as_text=True)
    assert "No problems found" in page
    response = client.post(
        preview_url, data={"csrf_token": token, field: str(emea.id), "submit": "Import"}
    )
    assert response.status_code == 302
    sponsor = db.session.scalar(sa.select(Sponsor).where(Sponsor.name == "Ann Lee"))
    assert sponsor.region_id == emea.id


def test_only_leads_import(client, world):
    sign_in(client, world.provider.email)
    assert client.get(base(world)).status_code == 403


# ----------------------------------------------------------------------------- bad workbooks


def plan_of(app, world, tmp_path, data: bytes, name: str = "bad.xlsx") -> service.Plan:
    path = tmp_path / name
    path.write_bytes(data)
    return service.check(world.partnership.id, read_workbook(path, name), service.Decisions())


def messages(plan) -> list[str]:
    return [f"{p.where}: {p.message}" for p in plan.problems]


@pytest.mark.parametrize(
    ("sheets", "expected"),
    [
        ({"Slas list": [SLA]}, "Slas list: There is no sheet called “Slas list”"),
        (
            {"SLAs": [SLA, SLA]},
            "SLAs, row 3: SLA code “SLA-1” with effective month 2025-01 is already on row 2",
        ),
        (
            {"SLAs": [SLA, ["SLA-1", "Other", "%", "higher is better", 1, 0, 1, "2025-02", ""]]},
            "SLAs, row 3: SLA code “SLA-1” is already used on row 2",
        ),
        (
            {"SLAs": [["SLA-1", "X", "%", "higher is better", "ninety", 90, 1, "2025-01", ""]]},
            "SLAs, row 2: The target “ninety” is not a number.",
        ),
        (
            {"Sponsors": [["Ann", "ann.example.com", "EMEA", "client", "2025-01-01", ""]]},
            "Sponsors, row 2: “ann.example.com” is not an e-mail address.",
        ),
        (
            {"Sponsors": [["Ann", "", "EMEA", "client", "2025-06-01", "2025-01-01"]]},
            "Sponsors, row 2: The end (2025-01-01) is before the start (2025-06-01).",
        ),
        (
            {"Sponsors": [["Ann", "", "Atlantis", "client", "2025-06-01", ""]]},
            "Sponsors, row 2: The region “Atlantis” is not known",
        ),
        (
            {"Actuals": [["NOPE", "2025-01", 3]]},
            "Actuals, row 2: The SLA code “NOPE” is neither on the SLAs sheet",
        ),
        (
            {"Actions": [["Do it", "provider", "bob@x.example", "soon", "open", ""]]},
            "Actions, row 2: “soon” is not a date in the form YYYY-MM-DD.",
        ),
    ],
)
def test_bad_rows_are_named_by_sheet_and_row_and_nothing_is_written(
    app, world, tmp_path, sheets, expected
):
    before = counts()
    data = workbook(**sheets)
    plan = plan_of(app, world, tmp_path, data)
    assert any(m.startswith(expected) for m in messages(plan)), messages(plan)
    path = tmp_path / "again.xlsx"
    path.write_bytes(data)
    with pytest.raises(service.ImportRefused):
        service.import_workbook(
            world.lead, world.partnership.id, read_workbook(path, "x.xlsx"), service.Decisions()
        )
    assert counts() == before


def test_missing_columns_are_named(app, world, tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Actuals"
    book.active.append(["SLA code", "Value"])
    book.active.append(["SLA-1", 3])
    out = io.BytesIO()
    book.save(out)
    plan = plan_of(app, world, tmp_path, out.getvalue())
    assert messages(plan) == [
        "Actuals, row 1: Missing column: “Month”. Keep the template's headings in the first row."
    ]


def test_one_bad_row_among_good_ones_writes_nothing_through_the_job(client, world):
    data = workbook(SLAs=[SLA], Actuals=[["SLA-1", "2025-01", 97], ["SLA-1", "2025-02", "lots"]])
    sign_in(client, world.lead.email)
    preview_url = upload(client, world, data).headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "Actuals, row 3" in page and "“lots” is not a number." in page
    assert 'value="Import"' not in page
    before = counts()
    token = csrf_token(client, preview_url)
    page = client.post(preview_url, data={"csrf_token": token, "submit": "Import"})
    assert "Nothing was imported" in page.get_data(as_text=True)
    assert counts() == before


def test_a_zip_bomb_is_refused_at_upload(client, world):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))
    sign_in(client, world.lead.email)
    before = counts()
    response = upload(client, world, out.getvalue())
    assert response.status_code == 200
    assert "compressed suspiciously well" in response.get_data(as_text=True)
    assert counts() == before


def test_an_xlsx_that_is_really_a_csv_is_read_as_the_csv_it_is(client, world):
    data = b"SLA code,Month,Value\nSLA-9,2025-01,3\n"
    sign_in(client, world.lead.email)
    preview_url = upload(client, world, data, "actuals.xlsx").headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "read as the Actuals sheet" in page
    assert "Actuals, row 2" in page and "“SLA-9” is neither on the SLAs sheet" in page


def test_a_file_that_is_no_workbook_is_refused(client, world):
    sign_in(client, world.lead.email)
    response = upload(client, world, b"%PDF-1.4 nothing here", "book.xlsx")
    assert "it is a PDF document" in response.get_data(as_text=True)
    assert "Download the template" in response.get_data(as_text=True)


def test_six_thousand_actuals_are_accepted_in_batches(app, world, tmp_path):
    # 6,000 rows: three of the import's batches (BATCH), more bound parameters in all than one
    # PostgreSQL statement takes (65,535). 20,000 took 11–29 s of each suite for the same
    # checks, most of it openpyxl reading the workbook; how long it takes is not asserted here
    # (a timed unit test decides nothing on a loaded machine).
    codes = [f"S{n:03d}" for n in range(100)]
    book = openpyxl.Workbook(write_only=True)
    slas = book.create_sheet("SLAs")
    slas.append(HEADINGS["SLAs"])
    for code in codes:
        slas.append([code, f"SLA {code}", "count", "lower is better", 5, 8, 1, "2010-01", ""])
    actuals = book.create_sheet("Actuals")
    actuals.append(HEADINGS["Actuals"])
    every_month = [f"{y}-{m:02d}" for y in range(2009, 2026) for m in range(1, 13)]
    months = every_month[-(3 * service.BATCH // len(codes)) :]
    rows = len(codes) * len(months)
    for code in codes:
        for month in months:
            actuals.append([code, month, 4])
    path = tmp_path / "big.xlsx"
    book.save(path)
    plan = service.check(world.partnership.id, read_workbook(path, "big.xlsx"), service.Decisions())
    assert rows == 3 * service.BATCH == 6_000
    assert plan.problems == [] and plan.new["Actuals"] == rows
    service.import_workbook(
        world.lead, world.partnership.id, read_workbook(path, "big.xlsx"), service.Decisions()
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SlaMeasurement)) >= rows


# ----------------------------------------------------------------------------- command line


def test_command_line_import_and_dry_run(app, world, tmp_path):
    add_demo_regions()
    runner = app.test_cli_runner()
    pid = str(world.partnership.id)
    before = counts()
    result = runner.invoke(
        args=["partnerships", "import", str(REALISTIC), "--partnership", pid, "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "Actuals 384 new" in result.output
    assert counts() == before
    result = runner.invoke(
        args=[
            "partnerships",
            "import",
            str(REALISTIC),
            "--partnership",
            pid,
            "--as",
            world.lead.email,
        ]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=["partnerships", "import", str(REALISTIC), "--partnership", pid, "--dry-run"]
    )
    assert "Actuals 0 new / 384 already there" in result.output

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(workbook(SLAs=[SLA, SLA]))
    result = runner.invoke(args=["partnerships", "import", str(bad), "--partnership", pid])
    assert result.exit_code == 1
    assert "SLAs, row 3: SLA code “SLA-1”" in result.output
