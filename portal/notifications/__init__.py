"""Notifications: what people are told, what they watch, and how they hear of it.

A lower package: it imports no domain (tickets, forums, events, liaisons); domains
call it, and register what it needs to know about their items.

Producing (inside the domain's own transaction; nothing here commits):

- ``services.notify(kind, *, item, recipients, actor=None, values=None, url=None,
  change=None) -> int``: one row per recipient, the actor left out. ``change``
  names the change (the city's updated_datetime, an event id, a post id): the same
  kind, item and change reach each person once, whatever repeats (a sync run twice,
  a push then a pull, a retried request), by a unique (recipient, dedupe_key) and
  ``INSERT ... ON CONFLICT DO NOTHING``. ``values`` is small JSON for the words
  (``title``, ``status``, ``note``, ``reason``, ``area``...), so pages render without
  the domain. People who turned every channel of the kind's group off get no row.
- ``services.notify_all([Notice(kind, item, recipients, actor, values, url,
  change), ...])``: the same for a batch, in one settings query and one insert per
  500 rows.
- The live push (``notification`` to ``user:<id>`` on ``/notifications``) happens
  after the commit (notify.py); a rollback drops it with the rows.

Kinds: ``kinds.register_kind(code, group, words)`` (words: lazy_gettext with
``%(name)s`` placeholders from the values, plus ``%(actor)s``). Groups are what
settings switch: my_tickets, followed, places, threads, mentions, events, account.
The kinds the issue names are registered already (kinds.py).

Items: ``registry.register_item_type(item_type, link=..., visible=...)``: the link
of an item (``link(item_id) -> path``) and who may still see it (``visible(user,
ids) -> set of ids``). The list, the count and the API leave out what a person may
no longer see. The producer still chooses only recipients who may see the item now.

Watches (watches.py): ``watch_item(user, "thread"|"event", id, commit=True)``,
``unwatch_item``, ``is_watching``, ``watchers(kind, ids) -> {id: {user ids}}``;
areas (``watch_area``, ``unwatch_area``; captains and liaisons watch their areas
by default) and circles of 100 m to 2 km (``watch_point``); and for a batch of new
things ``watchers_of_places([Place(key, lat, lon, area_id), ...]) -> {key: {user
ids}}`` in three queries. Tickets keep their own follows (``TicketFollow``).

Reading: ``unread_count(user)``, ``unread_counts(ids)``, ``recent(user, ...)``,
``grouped(user)``, ``mark_read``, ``mark_all_read(user, item=None)`` (a domain may
mark an item's notifications read when its page is opened); ``settings.settings_of``,
``settings.save_settings``, ``settings.channels_of(ids)``. Each row records the
channels it goes to (``in_app``, ``email_now``, ``digest``) from the recipient's
settings when written: the email and digest senders read those.

Delivering, by the worker (two duties, on only with MAIL_SERVER set; without one,
the demo's case, the site tells everything and nothing is mailed):

- ``email.send_due(now)`` ("notification-mail", every NOTIFICATIONS_MAIL_INTERVAL):
  each ``email_now`` row once, after its commit; one person's rows of a pass in one
  mail. At most once per notification: claimed rows are committed as handed before
  SMTP's DATA, so a crash before that is retried once the claim expires and one
  after it is ``unsure``, never resent. Refusals back off and retry; a 5xx gives
  up. Rows read on the site first, or older than a day, are not mailed.
- ``digests.send_digests(now)`` ("notification-digests"): daily or weekly at the
  person's hour in CITY_TIMEZONE, unread ``digest`` rows written before that hour,
  grouped by item, newest first (the first 20 items; the rest counted). Each
  period once: a ``digest_runs`` row unique per (person, period) is claimed with
  its rows in one transaction, handed, then marked sent; the same guarantee as
  email. Empty digests are never sent.
- Both in the person's language (``DigestSchedule.language``: the one they saved
  their settings in, else the default) and the city's zone, multipart, with
  RFC 8058 one-click unsubscribe (unsubscribe.py: a signed, non-expiring link that
  turns that mail's channel off for its groups, or all email, signed out).
- Feeds (feeds.py): Atom per area (``/notifications/feeds/areas/<slug>.atom``,
  public) and per person's watched places (``/notifications/feeds/<token>.atom``
  and ``…/<token>/places/<watch_id>.atom``, private; the token is reset on the
  watches page). Domains add entries with ``feeds.register_feed_source``.
"""
