// The room page of step01: it asks the REST API for news every few seconds (polling).
// Every open page sends these requests even when nothing happens; step02 replaces them
// with one WebSocket.
"use strict";

const chat = document.getElementById("chat");
const roomId = chat.dataset.roomId;
const pollMs = Number(chat.dataset.pollMs);
const csrfToken = document.querySelector("[name=csrfmiddlewaretoken]").value;
const messageList = document.getElementById("messages");
const statusLine = document.getElementById("status");
const errorLine = document.getElementById("error");
let lastMessageId = null;

function showMessage(message) {
  // Polls and our own POST can both bring a message: show each id once.
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
  // Keep id order even when our own POST answers before a poll brings an older message.
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

async function pollMessages() {
  const query = lastMessageId === null ? "" : `?after=${lastMessageId}`;
  const messages = await getJson(`/api/rooms/${roomId}/messages/${query}`);
  messages.forEach(showMessage);
  // Only a poll moves the cursor: our own POST may have skipped a message still to fetch.
  if (messages.length) lastMessageId = messages[messages.length - 1].id;
}

async function pollNotifications() {
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
}

async function poll() {
  try {
    await Promise.all([pollMessages(), pollNotifications()]);
    statusLine.textContent = `Polled at ${new Date().toLocaleTimeString()} (every ${pollMs} ms)`;
  } catch (error) {
    statusLine.textContent = `Polling failed (${error.message}); trying again.`;
  } finally {
    setTimeout(poll, pollMs);
  }
}

document.getElementById("message-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("message-text");
  const response = await fetch(`/api/rooms/${roomId}/messages/`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
    body: JSON.stringify({ text: input.value }),
  });
  const body = await response.json();
  if (response.ok) {
    showMessage(body);
    input.value = "";
    showError("");
  } else {
    // DRF explains a refusal field by field, e.g. {"text": ["This field may not be blank."]}.
    showError(Object.values(body).flat().join(" ") || `Refused (${response.status})`);
  }
});

poll();
