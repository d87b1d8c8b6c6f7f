// How the room page keeps every message, since step02 (optional reading: the step README's
// "Machinery"). A frame can fail to come: the socket was away, or the channel layer dropped
// it for a socket too far behind. Each frame names the room's message before it (previousId),
// so the page sees the gap, and roomCatchUp fetches it with ?after=, page after page.
"use strict";

const MESSAGES_PAGE_SIZE = 100; // chat/api.py: a longer catch-up takes several pages
const BURST_GAP_MS = 250; // message frames closer together than this are a burst
const QUIET_MS = 1000; // and this long after a burst's last frame, the page asks once more

function roomCatchUp({ fetchAfter, show, onError, setBusy }) {
  // fetchAfter(id): the room's messages after that id (null: its latest); show(message) puts
  // one on the page, once per id; onError(error) when a fetch fails; setBusy(busy) while one runs.
  let lastMessageId = null; // the newest id shown; null until the history is loaded
  let catchingUp = null; // the catch-up under way
  let catchUpAgain = false;
  let lastFrameAt = -Infinity; // when the last message frame came
  let quietCheck = null;

  function showMessage(message) {
    show(message);
    lastMessageId = Math.max(lastMessageId ?? 0, message.id);
  }

  function fetchMissing() {
    // History on first load; after a reconnect or a gap, what was written since, page after
    // page. One fetch at a time: a call while one runs makes it fetch once more at its end.
    if (catchingUp) {
      catchUpAgain = true;
      return catchingUp;
    }
    setBusy(true);
    catchingUp = (async () => {
      try {
        do {
          catchUpAgain = false;
          let page;
          do {
            page = await fetchAfter(lastMessageId);
            page.forEach(showMessage);
            lastMessageId ??= 0; // the room was empty: from now on, everything in it is news
          } while (page.length === MESSAGES_PAGE_SIZE);
        } while (catchUpAgain);
      } finally {
        catchingUp = null;
        setBusy(false);
      }
    })();
    return catchingUp;
  }

  function catchUp() {
    fetchMissing().catch(onError);
  }

  function receive(message) {
    // One frame of the room's. A previousId newer than any shown means frames never came:
    // fetch them all, this one with them, rather than show it past a gap the page could
    // never see again.
    const gap = message.previousId !== null && message.previousId > (lastMessageId ?? Infinity);
    if (gap) catchUp();
    else showMessage(message);
    // A frame dropped at a burst's very end has no later frame to show its gap. Frames that
    // come close together are a burst (a layer drops only for a socket 100 frames behind, and
    // those arrive back to back): once the room is quiet again, the page asks once more.
    const now = Date.now();
    if (gap || now - lastFrameAt < BURST_GAP_MS) {
      clearTimeout(quietCheck);
      quietCheck = setTimeout(catchUp, QUIET_MS);
    }
    lastFrameAt = now;
  }

  function stop() {
    clearTimeout(quietCheck);
  }

  return { fetch: catchUp, receive, stop };
}
