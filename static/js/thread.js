// A thread page kept live over /forums (room thread:<id>): new posts appear, edits
// and hidden posts change in place, the ticket's status in the header follows the
// city. Post bodies are the server's sanitized HTML; every other value is DOM text.
(function () {
  "use strict";
  var box = document.getElementById("posts");
  if (!box || !window.io) return;
  var threadId = Number(box.dataset.thread);
  // WebSocket alone: the server's processes share no long-polling state (README: Deployment).
  var socket = window.io("/forums", { transports: ["websocket"] });

  function header(post) {
    var head = document.createElement("header");
    head.className = "meta";
    var who = post.kind === "system" ? box.dataset.msgCity : (post.author || box.dataset.msgFormer);
    head.appendChild(document.createTextNode(who + " · "));
    var time = document.createElement("time");
    time.dateTime = post.created_at;
    time.textContent = new Date(post.created_at).toLocaleString(document.documentElement.lang);
    head.appendChild(time);
    return head;
  }

  function body(post) {
    var div = document.createElement("div");
    div.className = "post-body";
    div.innerHTML = post.html;  // sanitized by portal/sanitize.py when written
    return div;
  }

  function render(post) {
    var article = document.createElement("article");
    article.className = "post post-" + (post.kind === "system" ? "system" : "user");
    article.id = "post-" + Number(post.id);
    article.appendChild(header(post));
    article.appendChild(body(post));
    return article;
  }

  function lastShown() {
    var ids = Array.prototype.map.call(box.querySelectorAll("article.post"), function (a) {
      return Number(a.id.replace("post-", ""));
    });
    return ids.length ? Math.max.apply(null, ids) : 0;
  }

  socket.on("connect", function () {
    socket.emit("join", { thread: threadId }, function (answer) {
      // Posts made between this page's load and the join: show them by reloading.
      if (answer && box.dataset.lastPage === "yes" && answer.last_post > lastShown()) {
        window.location.reload();
        return;
      }
      document.body.dataset.live = "yes";
    });
  });
  socket.on("post_created", function (post) {
    if (post.thread_id !== threadId || document.getElementById("post-" + Number(post.id))) return;
    box.appendChild(render(post));
    if (post.ticket_status) {
      var badge = document.getElementById("thread-ticket-status");
      if (badge) badge.textContent = post.ticket_status;
    }
  });
  socket.on("post_updated", function (post) {
    var article = document.getElementById("post-" + Number(post.id));
    if (!article) return;
    var old = article.querySelector(".post-body");
    if (old) old.replaceWith(body(post));
  });
  socket.on("post_hidden", function (post) {
    var article = document.getElementById("post-" + Number(post.id));
    if (!article) return;
    // Still a .post-body, so a later post_updated (restored) finds where to go.
    var note = document.createElement("div");
    note.className = "post-body meta";
    note.textContent = box.dataset.msgHidden;
    var old = article.querySelector(".post-body");
    if (old) old.replaceWith(note);
  });
  function notice(id, text) {
    var note = document.getElementById(id);
    if (!note) {
      note = document.createElement("p");
      note.id = id;
      note.className = "meta";
      note.setAttribute("role", "status");
      box.parentNode.insertBefore(note, box);
    }
    note.textContent = text;
    return note;
  }

  socket.on("thread_changed", function (thread) {
    if (thread.id !== threadId) return;
    var title = document.querySelector("h1");
    if (title) title.textContent = thread.title;
    if (thread.locked) notice("thread-locked", box.dataset.msgLocked);
    else if (document.getElementById("thread-locked")) document.getElementById("thread-locked").remove();
    if (thread.deleted || thread.unlisted) notice("thread-gone", box.dataset.msgGone);
    document.body.dataset.threadLocked = thread.locked ? "yes" : "no";
  });
  socket.on("disconnect", function (reason) {
    // The server closed it: signed out, or the account was suspended. No retry.
    if (reason === "io server disconnect") {
      document.body.dataset.live = "closed";
      notice("live-closed", box.dataset.msgClosed);
    }
  });
})();
