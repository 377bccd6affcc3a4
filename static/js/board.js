// The pipeline board: drag a card (SortableJS) or pick "Move to"; the server validates the
// move (version, permission, lost reason) and answers JSON; on refusal the card goes back and
// the message is shown. Attached by data attributes (the CSP forbids inline scripts).
(function () {
  "use strict";

  var board, moveUrl, csrf, modal, pending = null;

  function showMessage(text, kind) {
    var box = document.getElementById("board-messages");
    var alert = document.createElement("div");
    alert.className = "alert alert-" + (kind || "danger") + " alert-dismissible fade show";
    alert.setAttribute("role", kind === "success" ? "status" : "alert");
    alert.setAttribute("data-testid", "board-alert");
    alert.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "alert");
    close.setAttribute("aria-label", board.getAttribute("data-msg-close"));
    alert.appendChild(close);
    box.replaceChildren(alert);
    if (kind === "success") {
      window.setTimeout(function () { alert.remove(); }, 4000);
    }
  }

  function column(stageId) {
    return board.querySelector('.board-column[data-stage="' + stageId + '"]');
  }

  function cardsOf(stageId) {
    return board.querySelector('[data-cards][data-stage="' + stageId + '"]');
  }

  // Put the card where its expected close date belongs (the board's order).
  function placeSorted(card, container) {
    var close = card.getAttribute("data-close");
    var before = null;
    container.querySelectorAll(".board-card").forEach(function (other) {
      if (!before && other !== card && other.getAttribute("data-close") > close) {
        before = other;
      }
    });
    container.insertBefore(card, before);
  }

  function updateTotals(columns) {
    columns.forEach(function (data) {
      var col = column(data.stage);
      if (!col) { return; }
      col.querySelector("[data-count]").textContent = data.count_display;
      col.querySelector("[data-total]").textContent = data.total_display;
      var currency = col.querySelector("[data-currency]");
      if (currency) { currency.classList.toggle("d-none", !!data.capped); }
      var other = col.querySelector("[data-other]");
      other.querySelector("[data-other-count]").textContent = data.other_currency;
      other.classList.toggle("d-none", !data.other_currency);
    });
  }

  // move = {card, stage, restore: function}; posts, then keeps or restores the card.
  function send(move, lostReason) {
    var card = move.card;
    var body = new FormData();
    body.append("opportunity", card.getAttribute("data-uuid"));
    body.append("stage", move.stage);
    body.append("version", card.getAttribute("data-version"));
    body.append("lost_reason", lostReason || "");
    card.classList.add("board-card-busy");
    fetch(moveUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, data: data };
      });
    }).then(function (result) {
      card.classList.remove("board-card-busy");
      if (!result.ok || !result.data.ok) {
        move.restore();
        showMessage(result.data.error || board.getAttribute("data-msg-failed"), "danger");
        return;
      }
      card.setAttribute("data-version", result.data.version);
      card.setAttribute("data-stage", result.data.stage);
      var select = card.querySelector("[data-move-select]");
      if (select) { select.value = String(result.data.stage); }
      if (card.parentElement !== cardsOf(result.data.stage)) {
        placeSorted(card, cardsOf(result.data.stage));
      }
      updateTotals(result.data.columns);
      showMessage(result.data.message, "success");
    }).catch(function () {
      card.classList.remove("board-card-busy");
      move.restore();
      showMessage(board.getAttribute("data-msg-failed"), "danger");
    });
  }

  function start(move) {
    var col = column(move.stage);
    if (col && col.getAttribute("data-lost") === "1") {
      pending = move;
      var form = document.getElementById("lost-form");
      form.querySelector("[data-lost-name]").textContent = move.card.getAttribute("data-name");
      var input = form.querySelector("#lost-reason");
      input.value = "";
      input.classList.remove("is-invalid");
      modal.show();
      return;
    }
    send(move, "");
  }

  function onDragEnd(event) {
    if (event.from === event.to) {
      return; // reordering inside a column changes nothing
    }
    var card = event.item, from = event.from, oldIndex = event.oldIndex;
    start({
      card: card,
      stage: event.to.getAttribute("data-stage"),
      restore: function () { from.insertBefore(card, from.children[oldIndex] || null); }
    });
  }

  function onSelect(event) {
    var select = event.target.closest("[data-move-select]");
    if (!select) { return; }
    var card = select.closest(".board-card");
    var current = card.getAttribute("data-stage");
    if (select.value === current) { return; }
    start({
      card: card,
      stage: select.value,
      restore: function () { select.value = current; }
    });
  }

  function init() {
    board = document.getElementById("board");
    if (!board) { return; }
    moveUrl = board.getAttribute("data-move-url");
    csrf = board.getAttribute("data-csrf");
    var modalEl = document.getElementById("lost-modal");
    modal = window.bootstrap.Modal.getOrCreateInstance(modalEl);
    modalEl.addEventListener("hidden.bs.modal", function () {
      if (pending) { pending.restore(); pending = null; } // cancelled: put the card back
    });
    modalEl.addEventListener("shown.bs.modal", function () {
      modalEl.querySelector("#lost-reason").focus();
    });
    document.getElementById("lost-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var input = event.target.querySelector("#lost-reason");
      if (!input.value.trim()) {
        input.classList.add("is-invalid");
        return;
      }
      var move = pending;
      pending = null;
      modal.hide();
      if (move) { send(move, input.value.trim()); }
    });
    board.addEventListener("change", onSelect);
    if (typeof window.Sortable === "undefined") { return; }
    board.querySelectorAll("[data-cards]").forEach(function (list) {
      window.Sortable.create(list, {
        group: "board",
        draggable: ".board-card[data-movable]",
        filter: "select, a, label, input",
        preventOnFilter: false,
        forceFallback: true,
        fallbackOnBody: true,
        delay: 200,
        delayOnTouchOnly: true,
        animation: 120,
        onEnd: onDragEnd
      });
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
