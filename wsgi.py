"""WSGI entry point: `gunicorn wsgi:app`, or `python wsgi.py` for development."""

from portal import create_app
from portal.extensions import socketio

app = create_app()

if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=5000, allow_unsafe_werkzeug=True)
