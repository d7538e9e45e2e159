// The simulator console (wechat_simulator/console.py): plain DOM, no library, no CDN.
// The official account's side posts to the console's push endpoint; the mini-program's
// side calls /api/v1/ with the customer's Bearer token, as the mini-program would.
// Everything shown comes from the server's JSON; text is set with textContent, never HTML.
"use strict";

(function () {
  const root = document.getElementById("console");
  const cfg = root.dataset;
  const $ = (id) => document.getElementById(id);
  const t = JSON.parse($("console-labels").textContent);  // translated by the page
  let token = null;
  let products = [];

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "onclick") node.addEventListener("click", value);
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function yuan(fen) {
    return "¥" + (Math.floor(fen / 100)) + "." + String(fen % 100).padStart(2, "0");
  }

  async function call(method, url, body, auth) {
    const headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth && token) headers["Authorization"] = "Bearer " + token;
    const response = await fetch(url, {
      method, headers, credentials: "omit",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const detail = data && (data.detail || data.code) ? (data.code + ": " + data.detail) : response.status;
      throw new Error(method + " " + url + " → " + detail);
    }
    return data;
  }

  function show(message, bad) {
    const box = $("mini-result");
    box.textContent = message;
    box.className = bad ? "bad" : "muted";
  }

  function guard(fn) {
    return async function (event) {
      if (event) event.preventDefault();
      try { await fn(event); } catch (error) { show(String(error.message || error), true); }
    };
  }

  // --- the official account --------------------------------------------------------------

  async function push(payload) {
    payload.openid = $("mp-openid").value.trim();
    const answer = await call("POST", cfg.pushUrl, payload);
    await refreshChat();
    return answer;
  }

  function bubbleFor(entry) {
    if (entry.from === "user") {
      const items = [el("div", { class: "bubble user" }, describePush(entry))];
      if (entry.reply) items.push(el("div", { class: "bubble project mp-reply" }, describeReply(entry.reply)));
      else if (entry.error) items.push(el("div", { class: "bubble system bad" }, entry.error));
      else if (entry.status !== 200) items.push(el("div", { class: "bubble system bad" }, "HTTP " + entry.status));
      return items;
    }
    const body = entry.body || {};
    let text;
    if (body.msgtype === "text" && body.text) text = body.text.content;
    else if (body.template_id) text = "[" + body.template_id + "] " + JSON.stringify(body.data || {});
    else text = "[" + (body.msgtype || entry.path) + "] " + JSON.stringify(body[body.msgtype] || body);
    const cls = entry.verdict === "ok" ? "bubble project mp-sent" : "bubble project mp-sent bad";
    return [el("div", { class: cls, title: entry.path + " " + entry.verdict }, text)];
  }

  function describePush(entry) {
    const xml = new DOMParser().parseFromString(entry.pushed, "text/xml");
    const field = (name) => (xml.getElementsByTagName(name)[0] || {}).textContent || "";
    if (entry.kind === "text") return field("Content");
    if (entry.kind === "image") {
      return el("span", {}, el("img", { src: field("PicUrl"), alt: "photo" }));
    }
    const key = field("EventKey");
    return "[" + field("Event") + (key ? " " + key : "") + "]";
  }

  function describeReply(reply) {
    if (reply.msg_type === "text") return reply.content;
    if (reply.articles) {
      return el("div", {}, ...reply.articles.map((a) => el("div", {},
        el("strong", {}, a.title), " ", a.description || "", " ",
        a.url ? el("a", { href: a.url, target: "_blank", rel: "noopener" }, "↗") : null)));
    }
    return "[" + reply.msg_type + "] " + (reply.media_id || "");
  }

  async function refreshChat() {
    const openid = $("mp-openid").value.trim();
    if (!openid) return;
    const data = await call("GET", cfg.chatUrl + "?openid=" + encodeURIComponent(openid));
    const chat = $("mp-chat");
    chat.replaceChildren(...data.messages.flatMap(bubbleFor));
    chat.scrollTop = chat.scrollHeight;
  }

  $("mp-text-form").addEventListener("submit", guard(async () => {
    const content = $("mp-text").value;
    if (!content.trim()) return;
    await push({ kind: "text", content });
    $("mp-text").value = "";
  }));
  $("mp-subscribe").addEventListener("click", guard(() => push({ kind: "subscribe" })));
  $("mp-unsubscribe").addEventListener("click", guard(() => push({ kind: "unsubscribe" })));
  $("mp-click").addEventListener("click", guard(() => push({ kind: "click", event_key: $("mp-event-key").value })));
  $("mp-photo-send").addEventListener("click", guard(async () => {
    const file = $("mp-photo").files[0];
    if (!file) throw new Error(t.choose_photo);
    const data = await new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).split(",", 2)[1]);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
    await push({ kind: "image", photo_base64: data, photo_type: file.type || "image/jpeg" });
  }));
  $("mp-openid").addEventListener("change", guard(refreshChat));

  // --- the mini-program ------------------------------------------------------------------

  $("mini-login").addEventListener("click", guard(async () => {
    const openid = $("mini-openid").value.trim();
    const issued = await call("POST", cfg.loginCodeUrl, { openid });
    const login = await call("POST", cfg.api + "auth/login", { code: issued.code });
    token = login.token;
    $("mini-status").textContent = "✓ " + issued.openid + " (customer " + (login.customer.id ?? "") + ")";
    $("mini-status").className = "ok";
    await Promise.all([loadProducts(), loadCart(), loadOrders(), loadNotices()]);
  }));

  async function loadProducts() {
    const q = $("mini-q").value.trim();
    const data = await call("GET", cfg.api + "products/" + (q ? "?q=" + encodeURIComponent(q) : ""), undefined, true);
    products = data.results;
    $("mini-products").replaceChildren(...products.map((p) => el("tr", {},
      el("td", {}, p.title), el("td", {}, yuan(p.price_fen)),
      el("td", {}, el("button", { type: "button", class: "view-product", "data-id": p.id,
        onclick: guard(() => loadProduct(p.id)) }, "›")))));
  }
  $("mini-search-form").addEventListener("submit", guard(loadProducts));

  async function loadProduct(id) {
    const p = await call("GET", cfg.api + "products/" + id + "/", undefined, true);
    $("mini-product").replaceChildren(el("h3", {}, p.title), el("table", {}, ...p.skus.map((sku) =>
      el("tr", {}, el("td", {}, Object.values(sku.attributes || {}).join(" / ") || "—"),
        el("td", {}, yuan(sku.price_fen)), el("td", {}, "× " + sku.stock),
        el("td", {}, el("button", { type: "button", class: "add-to-cart", "data-sku": sku.id,
          onclick: guard(async () => {
            await call("POST", cfg.api + "cart/items/", { sku_id: sku.id, quantity: 1 }, true);
            await loadCart();
          }) }, "+🛒"))))));
  }

  async function loadCart() {
    const lines = await call("GET", cfg.api + "cart/items/", undefined, true);
    $("mini-cart").replaceChildren(...lines.map((line) => el("tr", { class: "cart-line", "data-sku": line.sku_id },
      el("td", {}, line.title), el("td", {}, "× " + line.quantity), el("td", {}, yuan(line.line_total_fen)),
      el("td", {}, el("button", { type: "button", onclick: guard(async () => {
        await call("DELETE", cfg.api + "cart/items/" + line.id + "/", undefined, true);
        await loadCart();
      }) }, "✕")))));
    return lines;
  }

  async function anAddress() {
    const addresses = await call("GET", cfg.api + "addresses/", undefined, true);
    if (addresses.length) return addresses[0].id;
    const made = await call("POST", cfg.api + "addresses/", {
      user_name: "张三", tel_number: "13800138000", province_name: "广东省", city_name: "广州市",
      county_name: "天河区", detail_info: "天河路 1 号", postal_code: "510000", is_default: true,
    }, true);
    return made.id;
  }

  $("mini-order").addEventListener("click", guard(async () => {
    const lines = await loadCart();
    if (!lines.length) throw new Error(t.empty_cart);
    const order = await call("POST", cfg.api + "orders/", {
      items: lines.map((l) => ({ sku_id: l.sku_id, quantity: l.quantity })),
      address_id: await anAddress(), remark: $("mini-remark").value,
    }, true);
    for (const line of lines) await call("DELETE", cfg.api + "cart/items/" + line.id + "/", undefined, true);
    show("order " + order.order_no + " " + order.status + " " + yuan(order.total_fen));
    await Promise.all([loadCart(), loadOrders()]);
  }));

  async function orderAction(order, action, body) {
    await call("POST", cfg.api + "orders/" + order.order_no + "/" + action, body || {}, true);
    show(order.order_no + ": " + action + " ✓");
    await loadOrders();
  }

  async function payOrder(order) {
    const params = await call("POST", cfg.api + "orders/" + order.order_no + "/pay", {}, true);
    // What the phone does with wx.requestPayment: WeChat checks paySign, the user pays.
    const paid = await call("POST", cfg.payUrl, params);
    show(order.order_no + ": " + t.paid + " (" + paid.transaction_id + "), notification → HTTP " + paid.notify_status);
    await loadOrders();
  }

  async function loadOrders() {
    const data = await call("GET", cfg.api + "orders/", undefined, true);
    const orders = data.results || data;
    $("mini-orders").replaceChildren(...orders.map((o) => {
      const buttons = [];
      const add = (label, cls, fn) => buttons.push(el("button", { type: "button", class: cls, onclick: guard(fn) }, label));
      if (o.status === "pending_payment") {
        add(t.pay, "pay-order", () => payOrder(o));
        add(t.cancel, "cancel-order", () => orderAction(o, "cancel"));
      }
      if ((o.status === "paid" || o.status === "shipped") && !(o.refund_request && o.refund_request.status === "open")) {
        add(t.refund, "refund-order", () => orderAction(o, "refund-request", { reason: prompt(t.reason, "不想要了") || "不想要了" }));
      }
      if (o.status === "shipped") add(t.received, "confirm-order", () => orderAction(o, "confirm-receipt"));
      const refund = o.refund_request ? " · refund " + o.refund_request.status : "";
      return el("tr", { class: "order-row", "data-order": o.order_no },
        el("td", {}, o.order_no), el("td", { class: "order-status" }, o.status + refund),
        el("td", {}, yuan(o.total_fen)), el("td", {}, ...buttons));
    }));
  }

  async function loadNotices() {
    const openid = $("mini-openid").value.trim();
    const data = await call("GET", cfg.noticesUrl + "?openid=" + encodeURIComponent(openid));
    const box = $("mini-notices");
    if (!data.notices.length) return;
    box.className = "";
    box.replaceChildren(...data.notices.map((n) => el("div", { class: "notice " + (n.verdict === "ok" ? "" : "bad") },
      el("span", { class: "muted" }, new Date(n.at * 1000).toLocaleTimeString() + " " + n.path + " "),
      el("pre", {}, JSON.stringify(n.body.data || n.body, null, 1)))));
  }

  // --- what the project sent to WeChat -----------------------------------------------------

  async function loadRefunds() {
    const data = await call("GET", cfg.refundsUrl);
    $("sim-refunds").replaceChildren(...data.refunds.map((r) => el("tr", {},
      el("td", {}, r.out_refund_no), el("td", {}, yuan(r.refund_fen)), el("td", { class: "refund-status" }, r.status),
      el("td", {}, r.status === "PROCESSING" ? el("button", { type: "button", class: "finish-refund", onclick: guard(async () => {
        const response = await fetch(cfg.refundFinishUrl + encodeURIComponent(r.out_refund_no), { method: "POST" });
        if (!response.ok) throw new Error("finishing the refund: HTTP " + response.status);
        await Promise.all([loadRefunds(), token ? loadOrders() : null]);
      }) }, t.finish) : null))));
  }

  async function loadCalls() {
    const data = await call("GET", cfg.callsUrl + "?limit=60");
    $("calls").replaceChildren(el("table", {}, ...data.calls.map((c) => el("tr", {},
      el("td", {}, String(c.n)), el("td", {}, c.method + " " + c.path),
      el("td", { class: c.verdict === "ok" || c.verdict === "sent" ? "" : "bad" }, c.verdict),
      el("td", {}, el("pre", {}, JSON.stringify(c.body, null, 1))))))));
  }

  // Things arrive by themselves (customer-service sends from a worker, notices, calls).
  async function poll() {
    try {
      await Promise.all([loadCalls(), loadRefunds(), refreshChat(), token ? loadNotices() : null]);
    } catch (error) { /* the next round tries again */ }
  }
  poll();
  setInterval(poll, 2500);
})();
