// The demo web chat. Every text from the bot or the person is shown with textContent, never
// innerHTML. Each message gets its own id, reused on a retry, so a double submit is answered once.
"use strict";

(function () {
  const conversation = document.getElementById("conversation");
  const messageForm = document.getElementById("message-form");
  const messageInput = document.getElementById("message");
  const phoneForm = document.getElementById("phone-form");
  const phoneInput = document.getElementById("phone");
  const phoneStatus = document.getElementById("phone-status");
  let lastOutboxId = 0;
  let sending = false;

  function messageId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function scrollDown() {
    window.scrollTo(0, document.body.scrollHeight);
  }

  function addLine(kind, text) {
    const item = document.createElement("li");
    item.className = kind;
    item.textContent = text;
    conversation.appendChild(item);
    scrollDown();
    return item;
  }

  function addReply(reply) {
    const item = addLine(reply.kind === "emergency" ? "bot emergency" : "bot", reply.text);
    if (reply.kind === "emergency") item.setAttribute("role", "alert");
    if (reply.options && reply.options.length) {
      const options = document.createElement("div");
      options.className = "options";
      reply.options.forEach((label, index) => {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = (index + 1) + ". " + label;
        button.addEventListener("click", () => send(String(index + 1)));
        options.appendChild(button);
      });
      item.appendChild(options);
    }
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

  async function send(text) {
    if (sending || !text.trim()) return;
    sending = true;
    addLine("you", text);
    const id = messageId();
    try {
      let result;
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          result = await postJson("/chat/messages", { text: text, message_id: id });
          if (result.status !== 409) break;   // 409: the first try is still being answered
        } catch (e) {
          result = null;                      // network error: retry with the same id
        }
        await new Promise((resolve) => setTimeout(resolve, 700));
      }
      if (result && result.ok) {
        result.data.replies.forEach(addReply);
      } else {
        addLine("error", (result && result.data.error) || "Could not reach the clinic. Try again.");
      }
    } finally {
      sending = false;
    }
  }

  async function pollOutbox() {
    try {
      const response = await fetch("/chat/outbox?after=" + lastOutboxId,
                                   { credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      data.messages.forEach((message) => {
        lastOutboxId = Math.max(lastOutboxId, message.id);
        const item = addLine(message.kind === "emergency" ? "clinic emergency" : "clinic", "");
        const label = document.createElement("span");
        label.className = "label";
        label.textContent = "Text message from the clinic (" + message.kind + ")";
        item.appendChild(label);
        item.appendChild(document.createTextNode(message.text));
      });
    } catch (e) {
      // offline for a moment: the next poll catches up
    }
  }

  messageForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = messageInput.value;
    messageInput.value = "";
    send(text);
  });

  phoneForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = await postJson("/chat/phone", { phone: phoneInput.value }).catch(() => null);
    if (result && result.ok) {
      phoneInput.value = result.data.phone;
      phoneStatus.textContent = "Now chatting as another demo patient.";
      conversation.replaceChildren();
      lastOutboxId = 0;
      pollOutbox();
    } else {
      phoneStatus.textContent = (result && result.data.error) || "Could not change the number.";
    }
  });

  pollOutbox();
  setInterval(pollOutbox, 5000);
})();
