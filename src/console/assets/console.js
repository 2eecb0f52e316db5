// The console page: sends typed lines over a WebSocket and shows each
// request and its reply as the relay reports them.
"use strict";
(function () {
  const transcript = document.getElementById("transcript");
  const status = document.getElementById("status");
  const line = document.getElementById("line");
  const form = document.getElementById("prompt");
  let pending = [];
  let closedReason = null;

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function scroll(item) {
    if (item.scrollIntoView) item.scrollIntoView({ block: "nearest" });
  }

  function addRequest(text) {
    const item = document.createElement("li");
    item.className = "exchange";
    const request = document.createElement("span");
    request.className = "request";
    request.textContent = text;
    const reply = document.createElement("span");
    reply.className = "reply";
    reply.dataset.pending = "true";
    item.append(request, reply);
    transcript.append(item);
    pending.push(reply);
    scroll(item);
  }

  function addReply(text, code) {
    const reply = pending.shift();
    if (!reply) {
      addEvent("reply without a request: " + text);
      return;
    }
    delete reply.dataset.pending;
    reply.dataset.code = code;
    reply.textContent = text;
  }

  function addEvent(text) {
    const item = document.createElement("li");
    item.className = "event";
    item.textContent = text;
    transcript.append(item);
    scroll(item);
  }

  const socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");

  socket.addEventListener("message", function (event) {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (error) {
      addEvent("unreadable message from the console: " + event.data);
      return;
    }
    switch (message.type) {
      case "status":
        if (message.state === "closed") closedReason = message.text;
        setStatus(message.state, message.text);
        break;
      case "request":
        addRequest(message.line);
        break;
      case "reply":
        addReply(message.line, message.code);
        break;
      default:
        addEvent(message.text || JSON.stringify(message));
    }
  });

  socket.addEventListener("close", function () {
    for (const reply of pending) {
      delete reply.dataset.pending;
      reply.dataset.code = "error";
      reply.textContent = "(no reply: the connection closed)";
    }
    pending = [];
    setStatus("closed", closedReason || "the console closed the connection");
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = line.value;
    if (text.trim() === "") return;
    if (socket.readyState !== WebSocket.OPEN) {
      addEvent("not sent (" + (closedReason || "not connected") + "): " + text);
      return;
    }
    socket.send(text);
    line.value = "";
    line.focus();
  });
})();
