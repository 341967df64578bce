"""Batch rows that are not what a row should be: each is refused by its cell (or the
whole JSON body, for text no database stores), never a 500."""

import pytest

from portal.liaisons.models import BatchRow
from tests.liaisons.test_bulk import csv_bytes, good_rows, headers


@pytest.mark.parametrize("attributes", [["RAIL", "no"], "RAIL=no", 7])
def test_attributes_that_are_not_an_object_mark_their_row(client, liaison, attributes):
    (row,) = good_rows(1)
    row.pop("attribute[RAIL]")
    response = client.post(
        "/api/v1/batches",
        json={"rows": [{**row, "attributes": attributes}]},
        headers=headers(liaison),
    )
    assert response.status_code == 202
    (state,) = response.json["rows"]
    assert state["state"] == "invalid"
    assert "attributes" in state["errors"]


@pytest.mark.parametrize(
    "cells, field",
    [
        ({"description": "bad \x00 byte"}, "rows.0.description"),
        ({"description": "lone \ud800 half"}, "rows.0.description"),
        ({"attribute[RAIL\x00]": "no"}, "rows.0"),
        ({"\udfff": "x"}, "rows.0"),
    ],
)
def test_json_cells_and_keys_no_database_stores_refuse_the_body(
    client, liaison, cells, field
):
    (row,) = good_rows(1)
    response = client.post(
        "/api/v1/batches", json={"rows": [{**row, **cells}]}, headers=headers(liaison)
    )
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    assert BatchRow.query.count() == 0


def test_a_csv_cell_with_control_characters_marks_its_row(client, liaison):
    rows = good_rows(2)
    rows[1]["description"] = "bell \x07 in a cell"
    response = client.post(
        "/api/v1/batches",
        data=csv_bytes(
            rows, ["service_code", "description", "lat", "lon", "attribute[RAIL]"]
        ),
        headers={**headers(liaison), "Content-Type": "text/csv"},
    )
    assert response.status_code == 202
    first, second = response.json["rows"]
    assert first["state"] != "invalid"
    assert second["state"] == "invalid" and "description" in second["errors"]
