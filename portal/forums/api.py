"""JSON API v1 for the forums: threads of an area, a thread with its posts, writing,
and flags. The same rules as the pages (forums.services)."""

import marshmallow as ma
from flask_login import current_user, login_required
from flask_smorest import Blueprint

from portal.apiv1 import SECURITY, Id, Text, Whole
from portal.areas import services as areas
from portal.forums import flags, limits, notify, services, visibility, watching
from portal.forums.models import FLAG_REASONS, Post, Thread

blp = Blueprint("forums_api", __name__, description="Neighborhood forums.")


class ThreadSchema(ma.Schema):
    id = Id()
    area = ma.fields.String(metadata={"description": "The area's slug."})
    title = ma.fields.String()
    author = ma.fields.String(allow_none=True)
    ticket = Id(
        allow_none=True, metadata={"description": "The city ticket it is about."}
    )
    ticket_status = ma.fields.String(allow_none=True)
    pinned = ma.fields.Boolean()
    locked = ma.fields.Boolean()
    unlisted = ma.fields.Boolean()
    deleted = ma.fields.Boolean()
    post_count = Whole()
    created_at = ma.fields.DateTime()
    last_post_at = ma.fields.DateTime()


class PostSchema(ma.Schema):
    id = Id()
    thread = Id()
    kind = ma.fields.String(metadata={"description": "user, or system (the city)"})
    author = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    edited_at = ma.fields.DateTime(allow_none=True)
    html = ma.fields.String(
        metadata={"description": "Sanitized HTML; empty when hidden from you."}
    )
    hidden = ma.fields.Boolean()
    held = ma.fields.Boolean(metadata={"description": "Waiting for a moderator."})
    deleted = ma.fields.Boolean()
    reason = ma.fields.String(
        allow_none=True,
        metadata={"description": "Why it is hidden (its author and moderators)."},
    )


class ThreadPage(ma.Schema):
    threads = ma.fields.List(ma.fields.Nested(ThreadSchema))
    page = Whole()
    pages = Whole()


class ThreadWithPosts(ma.Schema):
    thread = ma.fields.Nested(ThreadSchema)
    posts = ma.fields.List(ma.fields.Nested(PostSchema))
    page = Whole()
    pages = Whole()


class PageQuery(ma.Schema):
    page = Whole(minimum=1, load_default=1)


class NewThread(ma.Schema):
    title = Text(required=True, validate=ma.validate.Length(max=services.TITLE_MAX))
    body = Text(required=True, validate=ma.validate.Length(max=services.POST_MAX))


class NewPost(ma.Schema):
    body = Text(required=True, validate=ma.validate.Length(max=services.POST_MAX))
    quote = Id(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Id of a post of this thread to quote: only one every "
            "reader of the thread may read (422 naming quote otherwise)."
        },
    )


class ThreadWatchBody(ma.Schema):
    watch = ma.fields.Boolean(
        load_default=True, metadata={"description": "false: stop watching."}
    )


class ThreadWatchState(ma.Schema):
    thread = Id()
    watching = ma.fields.Boolean(
        metadata={"description": "The caller hears of every reply."}
    )


class FlagSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.OneOf(FLAG_REASONS))
    text = Text(load_default="", validate=ma.validate.Length(max=flags.TEXT_MAX))


class FlagResult(ma.Schema):
    post = Id()
    held = ma.fields.Boolean(
        metadata={"description": "The post is now hidden until a moderator looks."}
    )


def thread_view(thread: Thread) -> dict:
    return {
        "id": thread.id,
        "area": thread.area.slug,
        "title": thread.title,
        "author": thread.author.display_name if thread.author else None,
        "ticket": thread.ticket_id,
        "ticket_status": thread.ticket.status if thread.ticket else None,
        "pinned": thread.pinned,
        "locked": thread.locked,
        "unlisted": thread.unlisted,
        "deleted": thread.deleted_at is not None,
        "post_count": thread.post_count,
        "created_at": thread.created_at,
        "last_post_at": thread.last_post_at,
    }


def post_view(post: Post) -> dict:
    """A post as the signed-in reader may see it (forums.visibility)."""
    readable = visibility.may_read_post(current_user, post)
    return {
        "id": post.id,
        "thread": post.thread_id,
        "kind": post.kind,
        "author": post.author.display_name if post.author else None,
        "created_at": post.created_at,
        "edited_at": post.edited_at,
        "html": post.html if readable else "",
        "hidden": post.hidden_at is not None,
        "held": post.held,
        "deleted": post.deleted_at is not None,
        "reason": (
            post.hidden_reason
            if visibility.may_see_reason(current_user, post)
            else None
        ),
    }


@blp.get("/forums/<area_slug>/threads")
@blp.arguments(PageQuery, location="query")
@blp.response(200, ThreadPage)
@blp.alt_response(404, response="DEFAULT_ERROR", description="No such area.")
def list_threads(query, area_slug):
    """An area's threads: pinned first, then by latest activity (30 a page)."""
    area = areas.get_area(area_slug)
    page = services.list_threads(current_user, area, query["page"])
    return {
        "threads": [thread_view(thread) for thread in page.items],
        "page": page.number,
        "pages": page.pages,
    }


@blp.post("/forums/<area_slug>/threads")
@blp.arguments(NewThread)
@blp.response(201, ThreadWithPosts)
@blp.alt_response(429, response="DEFAULT_ERROR", description="Posting too fast.")
@blp.doc(security=SECURITY)
@login_required
@limits.posting
def create_thread(body, area_slug):
    """Start a thread: a title and its first post (Markdown)."""
    area = areas.get_area(area_slug)
    thread = services.create_thread(current_user, area, body["title"], body["body"])
    posts = services.list_posts(thread).items
    return {
        "thread": thread_view(thread),
        "posts": [post_view(post) for post in posts],
        "page": 1,
        "pages": 1,
    }


@blp.get("/threads/<int:thread_id>")
@blp.arguments(PageQuery, location="query")
@blp.response(200, ThreadWithPosts)
@blp.alt_response(404, response="DEFAULT_ERROR", description="No such thread.")
def get_thread(query, thread_id):
    """A thread and one page of its posts (30 a page)."""
    thread = services.visible_thread(current_user, thread_id)
    page = services.list_posts(thread, query["page"])
    return {
        "thread": thread_view(thread),
        "posts": [post_view(post) for post in page.items],
        "page": page.number,
        "pages": page.pages,
    }


@blp.post("/threads/<int:thread_id>/posts")
@blp.arguments(NewPost)
@blp.response(201, PostSchema)
@blp.alt_response(409, response="DEFAULT_ERROR", description="The thread is locked.")
@blp.alt_response(
    422, response="DEFAULT_ERROR", description="A field is wrong, quote included."
)
@blp.alt_response(429, response="DEFAULT_ERROR", description="Posting too fast.")
@blp.doc(security=SECURITY)
@login_required
@limits.posting
def create_post(body, thread_id):
    """Reply to a thread, optionally quoting one of its posts."""
    post = services.reply(current_user, thread_id, body["body"], body["quote"])
    if not post.held:
        notify.post_created(post)
    return post_view(post)


@blp.post("/threads/<int:thread_id>/watch")
@blp.arguments(ThreadWatchBody)
@blp.response(200, ThreadWatchState)
@blp.alt_response(404, response="DEFAULT_ERROR", description="No such thread.")
@blp.doc(security=SECURITY)
@login_required
def watch_thread(body, thread_id):
    """Watch a thread (hear of every reply), or stop with `watch: false`. Who
    starts a thread or replies watches it already; a ticket's thread is watched by
    following its ticket (the same as `POST /tickets/{id}/follow`)."""
    thread = watching.set_watching(current_user, thread_id, body["watch"])
    return {"thread": thread.id, "watching": watching.is_watching(current_user, thread)}


@blp.post("/posts/<int:post_id>/flags")
@blp.arguments(FlagSchema)
@blp.response(201, FlagResult)
@blp.alt_response(409, response="DEFAULT_ERROR", description="Own post, or flagged.")
@blp.alt_response(404, response="DEFAULT_ERROR", description="No such post.")
@blp.doc(security=SECURITY)
@login_required
@limits.flagging
def flag_post(body, post_id):
    """Flag a post once, with a reason; enough flags hold it for review."""
    post, held = flags.flag_post(current_user, post_id, body["reason"], body["text"])
    if held:
        notify.post_hidden(post)
    return {"post": post.id, "held": held}
