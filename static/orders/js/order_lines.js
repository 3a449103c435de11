/* The order page's totals, kept up to date while lines are changed (before saving).
   Prices: a line already saved keeps its own unit price (shown in its row); a new or changed product
   is priced as it is now, read from the admin's product-prices endpoint. No inline script: the
   Content Security Policy allows only files like this one. */
function orderLinesTotals() {
  "use strict";

  const box = document.getElementById("order-totals");
  if (!box) return;
  const taxRate = parseFloat(box.dataset.taxRate || "0");
  const currency = box.dataset.currency || "";
  const credited = parseFloat(box.dataset.credited || "0");
  const savedTotal = parseFloat(box.dataset.savedTotal || "0");
  const chargesDifference = box.dataset.chargesDifference === "1";
  const pricesUrl = box.dataset.pricesUrl;
  const prices = {};
  const initialProduct = {};

  const cents = (amount) => Math.round(amount * 100) / 100;
  const money = (amount) =>
    amount.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " " + currency;

  function productSelects() {
    return Array.from(document.querySelectorAll('select[name^="items-"][name$="-product"]')).filter(
      (select) => !select.name.includes("__prefix__")
    );
  }

  function lines() {
    return productSelects().map((select) => {
      const prefix = select.name.slice(0, -"product".length);
      const quantity = document.querySelector(`[name="${prefix}quantity"]`);
      const deleted = document.querySelector(`[name="${prefix}DELETE"]`);
      const row = select.closest("tr");
      const saved = row ? row.querySelector("[data-unit-price]") : null;
      const unchanged = saved && initialProduct[select.name] === select.value;
      return {
        product: select.value,
        quantity: quantity ? parseInt(quantity.value || "0", 10) || 0 : 0,
        deleted: Boolean(deleted && deleted.checked),
        price: unchanged ? parseFloat(saved.dataset.unitPrice) : prices[select.value],
      };
    });
  }

  function fetchMissingPrices(current) {
    const missing = current.filter((line) => line.product && line.price === undefined).map((line) => line.product);
    if (!missing.length || !pricesUrl) return;
    const query = missing.map((id) => "id=" + encodeURIComponent(id)).join("&");
    fetch(pricesUrl + "?" + query, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : {}))
      .then((found) => {
        missing.forEach((id) => {
          prices[id] = found[id] ? parseFloat(found[id].price) : 0;
        });
        update();
      });
  }

  function show(name, text, hidden) {
    const element = box.querySelector(`[data-total="${name}"]`);
    if (!element) return;
    element.textContent = text;
    if (hidden !== undefined) element.hidden = hidden;
  }

  function update() {
    const current = lines();
    fetchMissingPrices(current);
    let subtotal = 0;
    current.forEach((line) => {
      if (!line.deleted && line.product && line.price !== undefined) subtotal += cents(line.price * line.quantity);
    });
    subtotal = cents(subtotal);
    const tax = cents(subtotal * taxRate);
    const total = cents(subtotal + tax - credited);
    show("subtotal", money(subtotal));
    show("tax", money(tax));
    show("total", money(total));
    const difference = cents(total - savedTotal);
    if (chargesDifference && difference !== 0) {
      const text =
        difference > 0
          ? `Saving charges the customer ${money(difference)} more (you confirm it first).`
          : `Saving refunds the customer ${money(-difference)} (you confirm it first).`;
      show("difference", text, false);
    } else {
      show("difference", "", true);
    }
  }

  productSelects().forEach((select) => {
    initialProduct[select.name] = select.value;
  });
  document.addEventListener("input", update);
  document.addEventListener("change", update);
  document.addEventListener("formset:added", update);
  document.addEventListener("formset:removed", update);
  // select2 (the product picker) announces its changes through jQuery only.
  if (window.django && window.django.jQuery) {
    window.django.jQuery(document).on("change select2:select select2:clear", "select", update);
  }
  update();
}

// Loaded in the page's head (the admin's form media): wait for the form.
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", orderLinesTotals);
} else {
  orderLinesTotals();
}
