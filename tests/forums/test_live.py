"""/forums sockets: rooms check who may see the thread; posts arrive live."""

from flask_socketio import SocketIOTestClient

from portal.extensions import db, socketio
from portal.forums import services
from portal.tickets.models import Ticket
from portal.tickets.services import record
from tests.conftest import csrf_token


def joined(app, client=None, thread_id=None):
    socket = SocketIOTestClient(
        app, socketio, namespace="/forums", flask_test_client=client
    )
    answer = socket.emit(
        "join", {"thread": thread_id}, namespace="/forums", callback=True
    )
    return socket, answer


def thread_last_post(thread):
    return services.last_post_id(thread)


def events(socket, name):
    return [e["args"][0] for e in socket.get_received("/forums") if e["name"] == name]


def test_a_reply_reaches_every_page_of_the_thread(
    app, client, auth, make_user, make_area
):
    area = make_area("Fishtown")
    author = make_user(email="w@example.org")
    thread = services.create_thread(author, area, "Lights", "Out again")
    reader, answer = joined(app, thread_id=thread.id)
    assert answer == {"thread": thread.id, "last_post": thread_last_post(thread)}
    auth.login("w@example.org")
    token = csrf_token(client, f"/forums/threads/{thread.id}")
    client.post(
        f"/forums/threads/{thread.id}", data={"csrf_token": token, "body": "**Me**"}
    )
    [post] = events(reader, "post_created")
    assert post["html"] == "<p><strong>Me</strong></p>" and post["author"] == "Neighbor"
    reader.disconnect(namespace="/forums")


def test_a_hidden_thread_refuses_the_join(app, make_user, make_area):
    area = make_area("Fishtown")
    thread = services.create_thread(make_user(), area, "t", "b")
    thread.unlisted = True
    db.session.commit()
    socket, answer = joined(app, thread_id=thread.id)
    assert not answer
    [error] = events(socket, "error")
    assert error["code"] == "not_found" and "thread" in error["fields"]
    socket.disconnect(namespace="/forums")


def test_a_city_status_change_posts_into_the_ticket_thread_live(app, make_area):
    area = make_area("Fishtown")
    ticket = Ticket(
        service_code="SBX-SD", status="open", lat=39.97, lon=-75.13, area=area
    )
    db.session.add(ticket)
    db.session.commit()
    thread = services.ticket_thread(ticket)
    reader, _answer = joined(app, thread_id=thread.id)
    ticket.status = "closed"
    record(ticket, "status", "sync", notes="Case resolved.", old="open", new="closed")
    db.session.commit()
    [post] = events(reader, "post_created")
    assert post["kind"] == "system" and post["ticket_status"] == "closed"
    assert "The city closed this." in post["html"]
    reader.disconnect(namespace="/forums")
