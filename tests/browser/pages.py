"""What the page tour checks on every page, in the page itself (one script per check), and the data it
visits: a small shop with a record of every kind, written through the services as people would."""

from pathlib import Path

from .conftest import ARTIFACTS

TOUR_ARTIFACTS = ARTIFACTS / "tour"

# Impacts that fail the tour (axe-core's "minor" and "moderate" are reported, not failed).
FAILING_IMPACTS = {"serious", "critical"}

# A CSP violation reaches the page as an event (and Chromium's console as an error): both are kept.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", event => {
    window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline code"}`);
});
"""

# One script returns what the layout checks need: horizontal overflow, the header's last breadcrumb
# (the record's name) cut or off-screen, list columns off-screen on a phone, and the contrast of text in
# highlighted rows.
LAYOUT_PROBLEMS = """
() => {
    const problems = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth + 1) {
        problems.push(`the page scrolls sideways (${root.scrollWidth}px wide in ${root.clientWidth}px)`);
    }
    const crumbs = [...document.querySelectorAll("#header-inner h1 > a, #header-inner h1 > span")]
        .filter(element => !element.classList.contains("material-symbols-outlined"));
    const last = crumbs[crumbs.length - 1];
    if (last) {
        const box = last.getBoundingClientRect();
        if (last.scrollWidth > last.clientWidth + 1 || box.width === 0 || box.right > root.clientWidth + 1) {
            problems.push(`the breadcrumb's last item "${last.textContent.trim()}" is cut or hidden`);
        }
    }

    // On a phone a list shows what fits: nothing to scroll to (the state badges were off-screen).
    const list = document.querySelector("#result_list");
    if (list && root.clientWidth < 768) {
        const right = list.parentElement.getBoundingClientRect().right;
        const cut = [...list.querySelectorAll("thead th")]
            .filter(th => th.offsetWidth > 0 && th.getBoundingClientRect().right > right + 1)
            .map(th => th.textContent.trim() || "(untitled)");
        if (cut.length) {
            problems.push(`the list's columns ${cut.join(", ")} are off-screen`);
        }
    }

    const channels = colour => (colour.match(/[\\d.]+/g) || []).map(Number);
    const luminance = ([r, g, b]) => {
        const linear = value => {
            value /= 255;
            return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
        };
        return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    };
    // The colour behind an element: its backgrounds and its ancestors', semi-transparent ones blended.
    const background = element => {
        const layers = [];
        for (let node = element; node; node = node.parentElement) {
            const [r, g, b, a = 1] = channels(getComputedStyle(node).backgroundColor);
            if (a > 0) layers.push([r, g, b, a]);
            if (a >= 1) break;
        }
        let colour = [255, 255, 255];
        for (const [r, g, b, a] of layers.reverse()) {
            colour = [r * a + colour[0] * (1 - a), g * a + colour[1] * (1 - a), b * a + colour[2] * (1 - a)];
        }
        return colour;
    };
    for (const row of document.querySelectorAll("[data-highlighted]")) {
        for (const cell of row.querySelectorAll("td, th")) {
            const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
            for (let text = walker.nextNode(); text; text = walker.nextNode()) {
                if (!text.textContent.trim()) continue;
                const element = text.parentElement;
                const [r, g, b, a = 1] = channels(getComputedStyle(element).color);
                const behind = background(element);
                const colour = [r, g, b].map((channel, i) => channel * a + behind[i] * (1 - a));
                const [light, dark] = [luminance(colour), luminance(behind)].sort((x, y) => y - x);
                const ratio = (light + 0.05) / (dark + 0.05);
                if (ratio < 4.5) {
                    const shown = text.textContent.trim().slice(0, 40);
                    problems.push(`"${shown}" in a highlighted row has contrast ${ratio.toFixed(2)}:1`);
                }
            }
        }
    }
    return problems;
}
"""


def screenshot_path(role: str, layout: str, name: str) -> Path:
    path = TOUR_ARTIFACTS / role / layout / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def build_shop():
    """A record of every kind the admin shows, with history by people and by the system, a change set,
    a refunded order, an import job and an e-mail in the outbox. Returns {page name: path}."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from audit.models import AuditEntry, ChangeSet
    from imports.jobs import import_job_create, import_job_run
    from inventory.models import Category, Product
    from inventory.services import product_create, product_set_flag, product_update, stock_adjust
    from notifications.models import Message
    from orders.models import Customer, OrderItem
    from orders.services import order_place, order_transition

    ops = get_user_model().objects.get(username="olivia")
    lamps = Category.objects.create(name="Desk lamps")
    products = [
        product_create(
            product=Product(
                name=f"Brass desk lamp with a long name, model {n}",
                sku=f"LAMP-{n:03d}",
                category=lamps,
                price="1249.50",
                is_published=False,
            ),
            stock=n * 3,
        )
        for n in range(1, 6)
    ]
    lamp = products[0]
    product_update(
        product=lamp,
        data={"price": "1299.00", "metadata": {"colour": "brass"}},
        user=ops,
        reason="Price list",
    )
    stock_adjust(product=lamp, quantity=20, reason="Received", user=ops)
    change_set = product_set_flag(products=[p.pk for p in products[:3]], flag="publish", user=ops)
    ada = Customer.objects.create(name="Ada Rossi", email="ada.rossi@example.com")
    order = order_place(customer=ada, lines={lamp: 2, products[1]: 1})
    refunded = order_place(customer=ada, lines={products[2]: 1})
    order_transition(to="refunded", order=refunded, reason="Returned unused")
    job = import_job_create(
        resource="products",
        file_name="supplier.csv",
        content=b"sku,name,category,price,stock\nPH-1,Pocket phone,desk-lamps,199.00,5\n",
        file_format="csv",
        user=ops,
    )
    import_job_run(job.pk)
    entry = AuditEntry.objects.filter(object_id=str(lamp.pk)).latest("id")
    message = Message.objects.latest("id")
    line = OrderItem.objects.filter(order=order).first()

    def admin(name, *args):
        return reverse(f"admin:{name}", args=args)

    return {
        "dashboard": admin("index"),
        "product-list": admin("inventory_product_changelist") + "?is_published__exact=1",
        "product-change": admin("inventory_product_change", lamp.pk),
        "product-history": admin("inventory_product_history", lamp.pk),
        "product-as-of": admin("inventory_product_as_of", lamp.pk) + "?when=2000-01-01T00:00",
        "product-import": admin("inventory_product_import"),
        "category-list": admin("inventory_category_changelist"),
        "category-change": admin("inventory_category_change", lamps.pk),
        "stock-movements": admin("inventory_stockmovement_changelist"),
        "order-list": admin("orders_order_changelist"),
        "order-change": admin("orders_order_change", order.pk),
        "refunded-order": admin("orders_order_change", refunded.pk),
        "order-history": admin("orders_order_history", order.pk),
        "order-as-of": admin("orders_order_as_of", order.pk),
        "order-lines": admin("orders_orderitem_changelist"),
        "payments": admin("orders_payment_changelist"),
        "order-line": admin("orders_orderitem_change", line.pk),
        "customer-list": admin("orders_customer_changelist") + "?q=ada.rossi",
        "customer-change": admin("orders_customer_change", ada.pk),
        "import-jobs": admin("imports_importjob_changelist"),
        "import-job": admin("imports_importjob_change", job.pk),
        "audit-log": admin("audit_auditentry_changelist"),
        "audit-entry": admin("audit_auditentry_change", entry.pk),
        "change-sets": admin("audit_changeset_changelist"),
        "change-set": admin("audit_changeset_change", change_set.pk),
        "change-set-undo": admin("audit_changeset_undo", change_set.pk),
        "outbox": admin("notifications_message_changelist"),
        "outbox-message": admin("notifications_message_change", message.pk),
        "users": admin("auth_user_changelist"),
        "user": admin("auth_user_change", ops.pk),
        "not-found": "/admin/inventory/product/999999999/change/",
        "product-add": admin("inventory_product_add"),  # a 403 page for support and auditors
        "_ids": {"change_set": change_set.pk, "changes": ChangeSet.objects.count()},
    }
