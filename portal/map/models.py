"""Per-cell ticket counts at several grid levels, kept by triggers (see spatial.py)."""

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class TicketCell(db.Model):
    __tablename__ = "ticket_cells"
    __table_args__ = (
        # What a viewport reads, in the order it reads it: one seek per cell column
        # of the view and status, answered from the index alone (no table rows).
        Index(
            "ix_ticket_cells_view",
            "level",
            "status",
            "cx",
            "cy",
            "n",
            "lat_sum",
            "lon_sum",
        ),  # fmt: skip
    )

    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    cx: Mapped[int] = mapped_column(Integer, primary_key=True)
    cy: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(30), primary_key=True)
    service_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    # 0 for a ticket in no area: a key column cannot be NULL.
    area_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    lat_sum: Mapped[float] = mapped_column(Float)
    lon_sum: Mapped[float] = mapped_column(Float)
