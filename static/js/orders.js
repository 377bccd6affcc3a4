// The order form's lines: add a line, find a product as you type (the lookup endpoint returns
// at most 20 matching active products), prefill the unit price from the chosen product, and
// show line totals and the order total as the user types. The server computes the real totals.
(function () {
  "use strict";

  function debounce(fn, ms) {
    let timer = null;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), ms);
    };
  }

  function money(value) {
    return value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function init(form) {
    const lookupUrl = form.dataset.lookupUrl;
    // The translated "%(stock)s in stock" (data-stock-text): no English in the script.
    const stockText = form.dataset.stockText || "%(stock)s";
    const body = form.querySelector("[data-lines]");
    const template = form.querySelector("template[data-line-template]");
    const total = form.querySelector("input[name$='-TOTAL_FORMS']");
    const found = new Map(); // label or SKU (upper case) -> product

    function recalc() {
      let sum = 0;
      body.querySelectorAll("[data-line]").forEach((row) => {
        const cell = row.querySelector("[data-line-total]");
        const removed = row.querySelector("[data-line-delete]")?.checked;
        const qty = parseInt(row.querySelector("[data-quantity]").value, 10);
        const price = parseFloat(row.querySelector("[data-unit-price]").value);
        const discount = parseFloat(row.querySelector("[data-discount]").value) || 0;
        if (removed || !(qty > 0) || !(price >= 0)) {
          cell.textContent = "—";
          return;
        }
        const value = Math.round(qty * price * (100 - discount)) / 100;
        sum += value;
        cell.textContent = money(value);
      });
      form.querySelector("[data-order-total]").textContent = money(sum);
    }

    function choose(input) {
      const key = input.value.trim().toUpperCase();
      const product = found.get(key) || found.get(key.split(" — ")[0]);
      if (!product) return;
      const row = input.closest("[data-line]");
      input.value = product.label;
      const price = row.querySelector("[data-unit-price]");
      if (!price.value || price.dataset.auto === "1") {
        price.value = product.price;
        price.dataset.auto = "1";
      }
      const qty = row.querySelector("[data-quantity]");
      if (!qty.value) qty.value = "1";
      const hint = row.querySelector("[data-product-hint]");
      if (hint) {
        const stock = stockText.replace("%(stock)s", String(product.stock));
        hint.textContent = `${stock} · ${product.price} ${product.currency}`;
      }
      recalc();
    }

    const search = debounce(async (input) => {
      const q = input.value.trim();
      if (q.length < 1) return;
      const response = await fetch(`${lookupUrl}?q=${encodeURIComponent(q)}`, {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (!response.ok) return;
      const data = await response.json();
      const list = document.getElementById(input.getAttribute("list"));
      if (!list) return;
      list.replaceChildren(...data.results.map((p) => {
        found.set(p.label.toUpperCase(), p);
        found.set(p.sku.toUpperCase(), p);
        const option = document.createElement("option");
        option.value = p.label;
        return option;
      }));
      choose(input); // an exact SKU typed in full is taken at once
    }, 250);

    form.addEventListener("input", (event) => {
      const target = event.target;
      if (target.matches("[data-product-input]")) {
        if (found.has(target.value.trim().toUpperCase())) choose(target);
        else search(target);
      } else if (target.matches("[data-unit-price]")) {
        target.dataset.auto = "0";
        recalc();
      } else if (target.matches("[data-quantity], [data-discount]")) {
        recalc();
      }
    });
    form.addEventListener("change", (event) => {
      if (event.target.matches("[data-product-input]")) choose(event.target);
      if (event.target.matches("[data-line-delete]")) recalc();
    });
    form.querySelector("[data-add-line]").addEventListener("click", () => {
      const index = parseInt(total.value, 10);
      const html = template.innerHTML.replace(/__prefix__/g, String(index));
      const holder = document.createElement("tbody");
      holder.innerHTML = html;
      const row = holder.firstElementChild;
      body.appendChild(row);
      total.value = String(index + 1);
      row.querySelector("[data-product-input]").focus();
    });
    recalc();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-order-form]").forEach(init);
  });
})();
