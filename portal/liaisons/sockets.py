"""Inbound Socket.IO for /batches: the batch page joins its room, if it may see it.

- client ``join`` ``{"batch": id}`` -> ack ``{"batch", "rows": [row states]}`` (the
  state at joining, so nothing between page load and join is missed); refused with
  an ``error`` event when the batch is not the user's to see.
- server ``batch_progress`` ``{"batch", "row", "state", "ticket", "city_id",
  "message"}`` (see notify.py).
"""

from portal.liaisons.batches import get_batch, row_state
from portal.liaisons.notify import room
from portal.sockets import PortalNamespace


class BatchesNamespace(PortalNamespace):
    def on_join(self, data):
        batch = get_batch(self.require_login(), self.id_in(data, "batch"))
        self.join(room(batch.id))
        return {"batch": batch.id, "rows": [row_state(row) for row in batch.rows]}
