// The room page of step02: one WebSocket per page, the server pushes each message as it is
// saved. The socket stays live (openLive): after a drop it reconnects with backoff and
// catches up with ?after= (catch_up.js: so does a gap between frames); a message sent
// meanwhile waits in its box until the socket is open again.
// Notifications are still polled; step03 gives them a socket of their own.
"use strict";

const chat = document.getElementById("chat");
const roomId = chat.dataset.roomId;
const pollMs = Number(chat.dataset.pollMs);
const messageList = document.getElementById("messages");
const statusLine = document.getElementById("status");
const errorLine = document.getElementById("error");
const socketBase = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
const STABLE_MS = 5000; // a socket open this long was live: the next drop starts the backoff anew
const MAX_RETRY_SECONDS = 30;
let sendWhenOpen = false; // Send was pressed while the room's socket was reconnecting
let roomLive = { socket: null }; // the room's socket (see openLive)

function showMessage(message) {
  // A catch-up fetch and the socket can both bring a message: show each id once.
  if (document.getElementById(`message-${message.id}`)) return;
  const item = document.createElement("li");
  item.id = `message-${message.id}`;
  const author = document.createElement("span");
  author.className = "author";
  author.textContent = message.author;
  const time = document.createElement("span");
  time.className = "time";
  time.textContent = new Date(message.createdAt).toLocaleTimeString();
  item.dataset.id = message.id;
  item.append(author, document.createTextNode(message.text), time);
  // Keep id order even when a catch-up fetch answers after a newer message arrived live.
  const later = [...messageList.children].find((other) => Number(other.dataset.id) > message.id);
  messageList.insertBefore(item, later ?? null);
  messageList.scrollTop = messageList.scrollHeight;
}

function showError(text) {
  errorLine.textContent = text;
  errorLine.hidden = !text;
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

function openLive(path, { onOpen, onFrame, onStatus }) {
  // One socket that stays live: it reconnects with backoff after a drop.
  const live = { socket: null }; // live.socket: the socket of the moment, new at each reconnect
  let retrySeconds = 1;

  function connect() {
    const socket = new WebSocket(`${socketBase}${path}`);
    live.socket = socket;
    let openedAt = null;
    socket.addEventListener("open", () => {
      openedAt = Date.now();
      onStatus();
      onOpen();
    });
    socket.addEventListener("message", (event) => onFrame(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      // Closed right after opening (the server accepts, then fails at once, as step04's
      // servers do while Redis is away): keep backing off instead of knocking every second.
      if (openedAt !== null && Date.now() - openedAt > STABLE_MS) retrySeconds = 1;
      retryLater("Disconnected"); // the server restarted, or the network went away
    });
  }

  function retryLater(why) {
    onStatus(`${why}; reconnecting in ${retrySeconds} s…`);
    setTimeout(connect, retrySeconds * 1000);
    retrySeconds = Math.min(retrySeconds * 2, MAX_RETRY_SECONDS);
  }

  connect();
  return live;
}

// What the room holds, from the API, and what its socket brings (catch_up.js).
const catchUp = roomCatchUp({
  fetchAfter: (id) => getJson(`/api/rooms/${roomId}/messages/${id === null ? "" : `?after=${id}`}`),
  show: showMessage,
  onError: (error) => showError(error.message),
  setBusy: (busy) => messageList.setAttribute("aria-busy", String(busy)), // false: all shown
});

async function pollNotifications() {
  try {
    const notifications = await getJson("/api/notifications/");
    const list = document.getElementById("notifications");
    list.replaceChildren(
      ...notifications.slice(0, 5).map((notification) => {
        const item = document.createElement("li");
        item.textContent = notification.text;
        if (!notification.isRead) item.className = "unread";
        return item;
      }),
    );
  } catch {
    // The server is away (a restart): the next poll tries again.
  } finally {
    setTimeout(pollNotifications, pollMs);
  }
}

function start() {
  roomLive = openLive(`/ws/conversations/${roomId}/`, {
    onOpen: () => {
      if (sendWhenOpen) sendTyped();
      catchUp.fetch();
    },
    onFrame: (frame) => {
      if (frame.type === "message") catchUp.receive(frame.data);
      else if (frame.type === "error") showError(frame.error);
    },
    onStatus: (text) => {
      statusLine.textContent = text ?? "Live: connected by WebSocket.";
    },
  });
  pollNotifications();
}

function sendTyped() {
  // The socket reconnects after a drop (a server restart): what is typed meanwhile stays in
  // its box and leaves as soon as the socket is open again.
  const input = document.getElementById("message-text");
  sendWhenOpen = false;
  if (!input.value) {
    showError(""); // emptied while waiting: nothing to send
  } else if (roomLive.socket?.readyState !== WebSocket.OPEN) {
    sendWhenOpen = true;
    showError("Not connected: your message will be sent when the connection is back.");
  } else {
    roomLive.socket.send(JSON.stringify({ type: "message", text: input.value }));
    input.value = "";
    showError("");
  }
}

document.getElementById("message-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sendTyped();
});

start();
