/* The refund page: the value of the units chosen (tax included), which is what is refunded when the
   amount is left empty. A file of its own: the Content Security Policy forbids inline scripts. */
(function () {
  "use strict";

  const page = document.getElementById("refund-page");
  if (!page) return;
  const taxRate = parseFloat(page.dataset.taxRate || "0");
  const refundable = parseFloat(page.dataset.refundable || "0");
  const currency = page.dataset.currency || "";
  const output = document.getElementById("lines-value");
  const amount = document.querySelector('input[name="amount"]');
  const cents = (value) => Math.round(value * 100) / 100;
  const money = (value) =>
    value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " " + currency;

  function update() {
    let value = 0;
    document.querySelectorAll("input[data-unit-price]").forEach((input) => {
      const units = parseInt(input.value || "0", 10) || 0;
      const lineValue = cents(units * parseFloat(input.dataset.unitPrice));
      value += lineValue + cents(lineValue * taxRate);
    });
    value = Math.min(cents(value), refundable);
    if (output) {
      output.hidden = value === 0;
      output.querySelector("[data-lines-value]").textContent = money(value);
    }
    if (amount) amount.placeholder = value ? value.toFixed(2) : "";
  }

  document.addEventListener("input", update);
  document.addEventListener("change", update);
  update();
})();
