// The demo web chat. Every text from the bot or the person is shown with textContent, never
// innerHTML. Each message gets its own id, reused on a retry, so a double submit is answered once.
// A reload shows the conversation again (GET /chat/history: the server's record of this number's
// web-chat conversation); what the clinic texted the number goes in a panel of its own
// (GET /chat/outbox), apart from the conversation. No inline script or style: the page's
// Content-Security-Policy allows only this file and chat.css.
"use strict";

(function () {
  const byId = (id) => document.getElementById(id);
  const conversation = byId("conversation");
  const suggestions = byId("suggestions");
  const messageForm = byId("message-form");
  const messageInput = byId("message");
  const phoneForm = byId("phone-form");
  const phoneInput = byId("phone");
  const phoneStatus = byId("phone-status");
  const outbox = byId("outbox");
  const outboxEmpty = byId("outbox-empty");
  const outboxPanel = byId("clinic-texts");
  const newTexts = byId("new-texts");
  const TEXT_KINDS = { reminder: "Reminder", offer: "Waitlist offer", emergency: "Urgent" };
  const OUTBOX_PAGE = 50;     // what one GET /chat/outbox answers at most
  let busy = true;            // while the history loads, then while a message is answered
  let generation = 0;         // bumped when the number changes: late answers for the old are dropped
  let lastOutboxId = 0;
  let outboxLoaded = false;   // the first poll fills the panel; texts after it are "new"
  let unseenTexts = 0;
  let panelInView = false;

  function messageId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  function scrollDown() {
    window.scrollTo(0, document.documentElement.scrollHeight);
  }

  function hiddenText(text) {
    const span = document.createElement("span");
    span.className = "visually-hidden";
    span.textContent = text;
    return span;
  }

  // The suggestions are for an empty chat only.
  function showSuggestions() {
    suggestions.hidden = conversation.querySelector("li.you, li.bot:not(.pending)") !== null;
  }

  // One line of the conversation; `speaker` is read out by screen readers before the text.
  function addLine(kind, speaker, text) {
    const item = document.createElement("li");
    item.className = kind;
    if (speaker) item.appendChild(hiddenText(speaker + ": "));
    item.appendChild(document.createTextNode(text));
    conversation.appendChild(item);
    showSuggestions();
    scrollDown();
    return item;
  }

  // Once any answer is given (an option clicked or a message typed), the options asked before
  // are answered: their buttons are disabled, and the one chosen by number is marked.
  function closeOptions(answer) {
    const open = conversation.querySelectorAll(".options:not(.answered)");
    const number = /^\s*(\d{1,2})\s*\.?\s*$/.exec(answer || "");
    open.forEach((group, groupIndex) => {
      group.classList.add("answered");
      const latest = groupIndex === open.length - 1;
      group.querySelectorAll("button").forEach((button, index) => {
        button.disabled = true;
        if (latest && number && Number(number[1]) === index + 1) {
          button.classList.add("chosen");
          button.appendChild(hiddenText(" (your answer)"));
        }
      });
    });
  }

  // `earlier`: shown again from the history, so an old emergency answer is not announced anew.
  function addReply(reply, earlier) {
    const emergency = reply.kind === "emergency";
    const item = addLine(emergency ? "bot emergency" : "bot", "Clinic", reply.text);
    if (emergency && !earlier) item.setAttribute("role", "alert");
    if (reply.options && reply.options.length) {
      const group = document.createElement("div");
      group.className = "options";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Choices");
      reply.options.forEach((label, index) => {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = (index + 1) + ". " + label;
        button.addEventListener("click", (event) => {
          // A disabled button loses the focus: a keyboard user goes on in the message box.
          if (send(String(index + 1)) && event.detail === 0) messageInput.focus();
        });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
  }

  function addPending() {
    const item = document.createElement("li");
    item.className = "bot pending";
    item.appendChild(hiddenText("The clinic is answering"));
    const dots = document.createElement("span");
    dots.className = "dots";
    dots.setAttribute("aria-hidden", "true");
    dots.textContent = "...";
    item.appendChild(dots);
    conversation.appendChild(item);
    scrollDown();
    return item;
  }

  async function postJson(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { /* not JSON: reported below */ }
    return { ok: response.ok, status: response.status, data: data };
  }

  // Sends the text unless a message is still being answered; says whether it was sent.
  function send(text) {
    if (busy || !text.trim()) return false;
    busy = true;
    const mine = generation;
    closeOptions(text);
    addLine("you", "You", text);
    const pending = addPending();
    answer(text, mine, pending).finally(() => {
      if (mine === generation) busy = false;
    });
    return true;
  }

  async function answer(text, mine, pending) {
    const id = messageId();
    let result = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        result = await postJson("/chat/messages", { text: text, message_id: id });
        if (result.status !== 409) break;   // 409: the first try is still being answered
      } catch (e) {
        result = null;                      // network error: retry with the same id
      }
      await sleep(700);
    }
    pending.remove();
    if (mine !== generation) return;
    if (result && result.ok) {
      result.data.replies.forEach((reply) => addReply(reply, false));
      pollOutbox();
    } else {
      addLine("error", null,
              (result && result.data.error) || "Could not reach the clinic. Please try again.");
    }
  }

  // The conversation so far, after a reload or a change of number, without reading it all out.
  async function loadHistory() {
    const mine = generation;
    busy = true;
    try {
      const response = await fetch("/chat/history", { credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      if (mine !== generation) return;
      conversation.removeAttribute("aria-live");
      data.messages.forEach((message) => {
        if (message.from === "you") {
          closeOptions(message.text);
          addLine("you", "You", message.text);
        } else {
          addReply(message, true);
        }
      });
    } catch (e) {
      // no history to show: the chat starts empty
    } finally {
      conversation.setAttribute("aria-live", "polite");
      if (mine === generation) busy = false;
    }
  }

  function when(iso) {
    const date = new Date(iso);
    if (isNaN(date)) return "";
    return date.toLocaleString(undefined,
                               { weekday: "short", hour: "numeric", minute: "2-digit" });
  }

  // Newest first, so the latest text is the first thing in the panel.
  function addText(message) {
    if (message.id <= lastOutboxId) return false;
    lastOutboxId = message.id;
    const item = document.createElement("li");
    item.className = message.kind === "emergency" ? "text emergency" : "text";
    const meta = document.createElement("p");
    meta.className = "meta";
    const kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = TEXT_KINDS[message.kind] || "Text";
    meta.appendChild(kind);
    const sent = when(message.at);
    if (sent) {
      const time = document.createElement("time");
      time.dateTime = message.at;
      time.textContent = sent;
      meta.appendChild(document.createTextNode(" - "));
      meta.appendChild(time);
    }
    const body = document.createElement("p");
    body.className = "body";
    body.textContent = message.text;
    item.appendChild(meta);
    item.appendChild(body);
    outbox.insertBefore(item, outbox.firstChild);
    outbox.hidden = false;
    outboxEmpty.hidden = true;
    return true;
  }

  // The notice above the message box, while new texts wait in a panel scrolled out of view. The
  // page makes room for it, so it never covers the latest line of the conversation.
  function showNotice(shown) {
    const atEnd = window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 8;
    newTexts.hidden = !shown;
    document.body.classList.toggle("with-notice", shown);
    if (shown && atEnd) scrollDown();
  }

  function announceTexts(count) {
    if (panelInView) return;
    unseenTexts += count;
    newTexts.textContent = unseenTexts === 1
      ? "1 new text from the clinic (show)"
      : unseenTexts + " new texts from the clinic (show)";
    showNotice(true);
  }

  // The texts sent to this number: the first poll fills the panel quietly (they are not news),
  // later ones announce what is new.
  async function pollOutbox() {
    const mine = generation;
    const first = !outboxLoaded;
    try {
      for (let page = 0; page < 20; page++) {
        const response = await fetch("/chat/outbox?after=" + lastOutboxId,
                                     { credentials: "same-origin" });
        if (!response.ok) return;
        const data = await response.json();
        if (mine !== generation) return;
        if (first) outbox.removeAttribute("aria-live");
        const added = data.messages.filter(addText).length;
        outbox.setAttribute("aria-live", "polite");
        if (added && !first) announceTexts(added);
        if (data.messages.length < OUTBOX_PAGE) break;
      }
      outboxLoaded = true;
    } catch (e) {
      // offline for a moment: the next poll catches up
    }
  }

  function startOver() {
    generation++;
    conversation.replaceChildren();
    outbox.replaceChildren();
    outbox.hidden = true;
    outboxEmpty.hidden = false;
    lastOutboxId = 0;
    outboxLoaded = false;
    unseenTexts = 0;
    showNotice(false);
    showSuggestions();
    loadHistory();
    pollOutbox();
  }

  messageForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (send(messageInput.value)) messageInput.value = "";
  });

  suggestions.querySelectorAll("button[data-say]").forEach((button) => {
    button.addEventListener("click", (event) => {
      // The suggestions hide once the chat has begun: a keyboard user goes on in the message box.
      if (send(button.dataset.say) && event.detail === 0) messageInput.focus();
    });
  });

  newTexts.addEventListener("click", () => {
    unseenTexts = 0;
    showNotice(false);
    outboxPanel.scrollIntoView({ block: "start" });
    outboxPanel.focus({ preventScroll: true });
  });

  if ("IntersectionObserver" in window) {
    new IntersectionObserver((entries) => {
      panelInView = entries.some((entry) => entry.isIntersecting);
      if (panelInView && !newTexts.hidden) {
        unseenTexts = 0;
        showNotice(false);
      }
    }).observe(outboxPanel);
  }

  phoneForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = await postJson("/chat/phone", { phone: phoneInput.value }).catch(() => null);
    if (result && result.ok) {
      phoneInput.value = result.data.phone;
      phoneStatus.textContent = "Now chatting as the demo patient with this number.";
      startOver();
    } else {
      phoneStatus.textContent = (result && result.data.error) || "Could not change the number.";
    }
  });

  loadHistory();
  pollOutbox();
  setInterval(pollOutbox, 5000);
})();
