// The room page of step02: one WebSocket per page, the server pushes each message as it is
// saved. Notifications are still polled; step03 gives them a socket of their own.
"use strict";

const chat = document.getElementById("chat");
const roomId = chat.dataset.roomId;
const pollMs = Number(chat.dataset.pollMs);
const messageList = document.getElementById("messages");
const statusLine = document.getElementById("status");
const errorLine = document.getElementById("error");
const socketUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/conversations/${roomId}/`;
const MAX_RETRY_SECONDS = 30;
let lastMessageId = null;
let socket = null;
let retrySeconds = 1;

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
  lastMessageId = Math.max(lastMessageId ?? 0, message.id);
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

async function catchUp() {
  // History on first load; after a reconnect, what was written while we were away.
  const query = lastMessageId === null ? "" : `?after=${lastMessageId}`;
  const messages = await getJson(`/api/rooms/${roomId}/messages/${query}`);
  messages.forEach(showMessage);
}

function connect() {
  socket = new WebSocket(socketUrl);
  socket.addEventListener("open", () => {
    retrySeconds = 1;
    statusLine.textContent = "Live: connected by WebSocket.";
    catchUp().catch((error) => showError(error.message));
  });
  socket.addEventListener("message", (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === "message") showMessage(frame.data);
    else if (frame.type === "error") showError(frame.error);
  });
  socket.addEventListener("close", () => {
    // The server restarted, or the network went away: try again, waiting longer each time.
    statusLine.textContent = `Disconnected; reconnecting in ${retrySeconds} s…`;
    setTimeout(connect, retrySeconds * 1000);
    retrySeconds = Math.min(retrySeconds * 2, MAX_RETRY_SECONDS);
  });
}

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

document.getElementById("message-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("message-text");
  if (socket?.readyState !== WebSocket.OPEN) {
    showError("Not connected: wait for the connection to come back.");
    return;
  }
  socket.send(JSON.stringify({ type: "message", text: input.value }));
  input.value = "";
  showError("");
});

connect();
pollNotifications();
