// The room page of step02: one WebSocket per page, the server pushes each message as it is
// saved. The socket stays live (openLive): after a drop it reconnects with backoff and
// catches up with ?after=, as it does when a frame's previousId shows that frames were
// missed; a message sent meanwhile waits in its box until the socket is open again.
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
const MESSAGES_PAGE_SIZE = 100; // chat/api.py: a longer catch-up takes several pages
const BURST_GAP_MS = 250; // message frames closer together than this are a burst
const QUIET_MS = 1000; // and this long after a burst's last frame, the page asks once more
let lastMessageId = null;
let catchingUp = null; // the catch-up under way (catchUp)
let catchUpAgain = false;
let lastFrameAt = -Infinity; // when the last message frame came (receiveMessage)
let quietCheck = null;
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

function receiveMessage(message) {
  // Each frame names the room's message before it. One newer than any shown means frames
  // never came (the channel layer drops them for a socket too far behind): fetch them all,
  // this one with them, rather than show it past a gap the page could never see again.
  const gap = message.previousId !== null && message.previousId > (lastMessageId ?? Infinity);
  if (gap) {
    catchUp().catch((error) => showError(error.message));
  } else {
    showMessage(message);
  }
  // A frame dropped at a burst's very end has no later frame to show its gap. Frames that
  // come close together are a burst (a layer drops only for a socket 100 frames behind, and
  // those arrive back to back): once the room is quiet again, the page asks once more.
  const now = Date.now();
  if (gap || now - lastFrameAt < BURST_GAP_MS) {
    clearTimeout(quietCheck);
    quietCheck = setTimeout(() => catchUp().catch((error) => showError(error.message)), QUIET_MS);
  }
  lastFrameAt = now;
}

function catchUp() {
  // History on first load; after a reconnect or a gap, what was written since, page after
  // page. One fetch at a time: a call while one runs makes it fetch once more at its end.
  if (catchingUp) {
    catchUpAgain = true;
    return catchingUp;
  }
  messageList.setAttribute("aria-busy", "true"); // "false" once what is stored is shown
  catchingUp = (async () => {
    try {
      do {
        catchUpAgain = false;
        let page;
        do {
          const query = lastMessageId === null ? "" : `?after=${lastMessageId}`;
          page = await getJson(`/api/rooms/${roomId}/messages/${query}`);
          page.forEach(showMessage);
          lastMessageId ??= 0; // the room was empty: from now on, everything in it is news
        } while (page.length === MESSAGES_PAGE_SIZE);
      } while (catchUpAgain);
    } finally {
      catchingUp = null;
      messageList.setAttribute("aria-busy", "false");
    }
  })();
  return catchingUp;
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

function start() {
  roomLive = openLive(`/ws/conversations/${roomId}/`, {
    onOpen: () => {
      if (sendWhenOpen) sendTyped();
      catchUp().catch((error) => showError(error.message));
    },
    onFrame: (frame) => {
      if (frame.type === "message") receiveMessage(frame.data);
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
