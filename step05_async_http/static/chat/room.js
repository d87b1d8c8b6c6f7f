// The room page of step03: two WebSockets, the room's messages and the person's own
// notifications, both opened with a JWT access token instead of the session cookie.
// The page asks for an access token with its session and CSRF token (POST
// /api/token/session/) and keeps it in this tab's memory only. When the server closes a
// socket with 4401 (the access token expired), the page asks for a new one the same way and
// reconnects at once; once the session has ended (logged out, in this tab or another), it
// asks the person to log in again. It holds no refresh token: logging out ends its renewals.
"use strict";

const chat = document.getElementById("chat");
const roomId = chat.dataset.roomId;
const csrfToken = document.querySelector("[name=csrfmiddlewaretoken]").value;
const messageList = document.getElementById("messages");
const statusLine = document.getElementById("status");
const errorLine = document.getElementById("error");
const notificationList = document.getElementById("notifications");
const notificationCount = document.getElementById("notification-count");
const notificationStatus = document.getElementById("notifications-status");
const socketBase = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
const TOKEN_EXPIRED = 4401; // the server's close code: "your access token has expired"
const LAYER_FAILED = 4503; // and "I cannot reach my channel layer (Redis): come back later"
const ACCESS_REVOKED = 4403; // and "you may no longer be here": removed, or deactivated
const STABLE_MS = 5000; // a socket open this long was live: the next drop starts the backoff anew
const MAX_RETRY_SECONDS = 30;
const RENEW_MARGIN_MS = 10_000; // renew before connecting when the token has less left
const SHOWN_NOTIFICATIONS = 5;
let accessToken = null; // in memory, gone with the tab (never localStorage)
let renewing = null; // the request for a new token under way, shared by both sockets
let renewals = 0;
let loginExpired = false;
let sendWhenOpen = false; // Send was pressed while the room's socket was reconnecting
// id -> notification: the stored list merged with what came live since.
const knownNotifications = new Map();
let roomLive = { socket: null }; // the room's socket (see openLive)
let notificationLive = { socket: null }; // and the notifications' socket

class LoginExpired extends Error {}

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

async function postJson(url, body, headers = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", ...headers },
    body: JSON.stringify(body),
  });
  // 401 or 403: the server no longer knows who this page is. The token endpoint answers 403
  // once the session has ended (logged out, or expired) or the page's CSRF token is from an
  // earlier login (a login in another tab gives the browser a new one).
  if (response.status === 401 || response.status === 403) throw new LoginExpired();
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

function expiresSoon(token) {
  // A JWT's claims are readable by anyone (base64url JSON): only its signature is protected,
  // and the server checks that. The page reads `exp` to renew before a reconnect is refused:
  // a handshake on a busy server can take seconds, and a token that expires on the way is.
  const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  return claims.exp * 1000 - Date.now() < RENEW_MARGIN_MS;
}

function askForAccess() {
  // The session proves who the page is, at every renewal: a page logged out gets no token.
  return postJson("/api/token/session/", {}, { "X-CSRFToken": csrfToken }).then((answer) => {
    accessToken = answer.access;
  });
}

function renewAccess() {
  // Both sockets may close with 4401 at once: one request serves both.
  renewing ??= askForAccess()
    .then(() => {
      renewals += 1;
    })
    .finally(() => {
      renewing = null;
    });
  return renewing;
}

function askToLogInAgain() {
  loginExpired = true;
  roomLive.socket?.close();
  notificationLive.socket?.close();
  statusLine.textContent = "Offline: your login has expired.";
  notificationStatus.textContent = "Offline.";
  const link = document.createElement("a");
  link.href = `/accounts/login/?next=${encodeURIComponent(location.pathname + location.search)}`;
  link.textContent = "Log in again";
  errorLine.replaceChildren(link, " to go on: your login has expired.");
  errorLine.hidden = false;
}

function openLive(path, { onOpen, onFrame, onStatus, onRevoked }) {
  // One socket that stays live: it reconnects with backoff after a drop, renews its access
  // token after a 4401, and gives up only when the person has to log in again or may no
  // longer use it (4403).
  const live = { socket: null }; // live.socket: the socket of the moment, new at each reconnect
  let retrySeconds = 1;

  async function connect(renew) {
    if (loginExpired) return;
    try {
      if (renew || expiresSoon(accessToken)) await renewAccess();
    } catch (error) {
      if (error instanceof LoginExpired) askToLogInAgain();
      else retryLater("Disconnected"); // the server is away: try again later
      return;
    }
    // A browser's WebSocket cannot send an Authorization header: the token goes in the URL.
    const socket = new WebSocket(`${socketBase}${path}?token=${encodeURIComponent(accessToken)}`);
    live.socket = socket;
    let openedAt = null;
    socket.addEventListener("open", () => {
      openedAt = Date.now();
      onStatus();
      onOpen();
    });
    socket.addEventListener("message", (event) => onFrame(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      if (loginExpired) return;
      if (event.code === TOKEN_EXPIRED) {
        onStatus("Access token expired: renewing it…");
        connect(true);
        return;
      }
      if (event.code === ACCESS_REVOKED) {
        onRevoked(); // and no reconnect: the server would refuse the handshake
        return;
      }
      // Closed right after opening (the server accepts, then fails at once, as step04's
      // servers do while Redis is away): keep backing off instead of knocking every second.
      if (openedAt !== null && Date.now() - openedAt > STABLE_MS) retrySeconds = 1;
      const why = event.code === LAYER_FAILED ? "The server lost Redis" : "Disconnected";
      retryLater(why); // or the server restarted, or the network went away
    });
  }

  function retryLater(why) {
    onStatus(`${why}; reconnecting in ${retrySeconds} s…`);
    setTimeout(() => connect(false), retrySeconds * 1000);
    retrySeconds = Math.min(retrySeconds * 2, MAX_RETRY_SECONDS);
  }

  connect(false);
  return live;
}

// What the room holds, from the API, and what its socket brings (catch_up.js).
const catchUp = roomCatchUp({
  fetchAfter: (id) => getJson(`/api/rooms/${roomId}/messages/${id === null ? "" : `?after=${id}`}`),
  show: showMessage,
  onError: (error) => showError(error.message),
  setBusy: (busy) => messageList.setAttribute("aria-busy", String(busy)), // false: all shown
});

function notificationItem(notification) {
  const item = document.createElement("li");
  item.textContent = notification.text;
  if (!notification.isRead) item.className = "unread";
  return item;
}

function showNotifications() {
  const newestFirst = [...knownNotifications.values()].sort((a, b) => b.id - a.id);
  notificationList.replaceChildren(...newestFirst.slice(0, SHOWN_NOTIFICATIONS).map(notificationItem));
  notificationCount.textContent = String(newestFirst.filter((n) => !n.isRead).length);
}

async function loadNotifications() {
  // On every (re)connection: the list as stored, so nothing sent while away is missed. It is
  // merged with, not put in place of, what came live meanwhile: a frame can overtake the list.
  const stored = await getJson("/api/notifications/");
  stored.forEach((notification) => knownNotifications.set(notification.id, notification));
  showNotifications();
}

function addNotification(notification) {
  if (knownNotifications.has(notification.id)) return; // the catch-up brought it already
  knownNotifications.set(notification.id, notification);
  showNotifications();
}

function liveText() {
  const renewed = renewals ? ` Access token renewed ${renewals}×.` : "";
  return `Live: connected by WebSocket.${renewed}`;
}

async function start() {
  try {
    await askForAccess();
  } catch (error) {
    if (error instanceof LoginExpired) askToLogInAgain();
    else showError(`No token for the sockets: ${error.message}`);
    return;
  }
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
      statusLine.textContent = text ?? liveText();
    },
    onRevoked: () => {
      // Said where the socket's state always shows; nothing typed now could ever be sent.
      statusLine.textContent = "You are no longer a member of this room.";
      for (const field of document.getElementById("message-form").elements) field.disabled = true;
      catchUp.stop(); // the room's messages are no longer this person's to fetch
    },
  });
  notificationLive = openLive("/ws/notifications/", {
    onOpen: () => loadNotifications().catch((error) => showError(error.message)),
    onFrame: (frame) => {
      if (frame.type === "notification") addNotification(frame.data);
    },
    onStatus: (text) => {
      notificationStatus.textContent = text ?? "Live.";
    },
    onRevoked: () => {
      notificationStatus.textContent = "Offline: your account is no longer active.";
    },
  });
}

function sendTyped() {
  // The socket reconnects routinely (each time an access token expires): what is typed
  // meanwhile stays in its box and leaves as soon as the socket is open again.
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
