// Messages by hand: the publish form (exchange and queue pages), the get-messages form
// and how a got message is shown (payload as text or base64, properties and headers).

import { api, path } from "../api.js";
import { h, replaceChildren, details, flash, fmtNumber, showValue } from "../dom.js";
import { parseLines, field } from "./common.js";
import { refreshNow } from "../shell.js";

/** Publish to `exchange` ("" the default one); `queue` fixes the routing key to it. */
export function publishSection(vhost, exchange, queue = null) {
  const routingKey = queue === null ? h("input", { id: "publish-routing-key" }) : null;
  const mode = h("select", { id: "publish-delivery-mode" },
    h("option", { value: "1" }, "1 - Non-persistent"), h("option", { value: "2" }, "2 - Persistent"));
  const headers = h("textarea", { id: "publish-headers", rows: 2, placeholder: "name=value, one per line" });
  const properties = h("textarea", { id: "publish-properties", rows: 2, placeholder: "content_type=text/plain\npriority=1" });
  const encoding = h("select", { id: "publish-encoding" },
    h("option", { value: "string" }, "String"), h("option", { value: "base64" }, "Base64"));
  const payload = h("textarea", { id: "publish-payload", rows: 4 });
  const form = h("form", { class: "stacked", id: "publish-form" },
    routingKey ? field("Routing key", routingKey) : [h("label", {}, "Routing key"), h("span", { class: "muted" }, `${queue} (through the default exchange)`)],
    field("Delivery mode", mode), field("Headers", headers), field("Properties", properties),
    field("Payload encoding", encoding), field("Payload", payload),
    h("div", { class: "buttons" }, h("button", { id: "publish", type: "submit", class: "primary" }, "Publish message")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const props = { ...parseLines(properties.value), delivery_mode: Number(mode.value) };
      const headerValues = parseLines(headers.value);
      if (Object.keys(headerValues).length) props.headers = headerValues;
      const answer = await api.post(path("exchanges", vhost, exchange || "amq.default", "publish"), {
        properties: props,
        routing_key: queue === null ? routingKey.value : queue,
        payload: payload.value,
        payload_encoding: encoding.value,
      });
      flash("ok", answer.routed ? "Message published." : "Message published, but not routed.");
      await refreshNow();
    } catch (error) {
      flash("error", error.message);
    }
  });
  return details("Publish message", true, form);
}

/** Get messages from a queue, with RabbitMQ's ack modes and encodings. */
export function getSection(vhost, queue) {
  const ackMode = h("select", { id: "get-ackmode" },
    h("option", { value: "ack_requeue_true" }, "Nack message requeue true"),
    h("option", { value: "ack_requeue_false" }, "Automatic ack"),
    h("option", { value: "reject_requeue_true" }, "Reject requeue true"),
    h("option", { value: "reject_requeue_false" }, "Reject requeue false"));
  const encoding = h("select", { id: "get-encoding" },
    h("option", { value: "auto" }, "Automatic string/base64"), h("option", { value: "base64" }, "base64"));
  const count = h("input", { id: "get-count", type: "number", min: 1, value: "1" });
  const results = h("div", { id: "get-results" });
  const form = h("form", { class: "inline", id: "get-form" },
    h("label", {}, "Ack mode", ackMode), h("label", {}, "Encoding", encoding), h("label", {}, "Messages", count),
    h("button", { id: "get-messages", type: "submit", class: "primary" }, "Get Message(s)"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const messages = await api.post(path("queues", vhost, queue, "get"), {
        count: Number(count.value) || 1, ackmode: ackMode.value, encoding: encoding.value, truncate: 50000,
      });
      replaceChildren(results, messages.length
        ? messages.map((m, i) => messageView(m, i + 1))
        : h("p", { class: "muted empty-queue" }, "Queue is empty"));
      await refreshNow();
    } catch (error) {
      flash("error", error.message);
    }
  });
  return details("Get messages", true, h("p", { class: "muted" }, "Getting messages is a destructive action: with an ack mode that requeues, they come back redelivered."), form, results);
}

function keyValues(cls, object) {
  const rows = Object.entries(object || {});
  return h("table", { class: cls }, h("tbody", {}, rows.length
    ? rows.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, showValue(v))))
    : h("tr", {}, h("td", { class: "muted" }, "none"))));
}

export function messageView(m, number) {
  const { headers, ...properties } = m.properties || {};
  return h("div", { class: "message" },
    h("header", {},
      h("strong", {}, `Message ${number}`),
      h("span", {}, "Exchange ", h("code", {}, m.exchange === "" ? "(AMQP default)" : m.exchange)),
      h("span", {}, "Routing key ", h("code", {}, m.routing_key)),
      h("span", { class: "redelivered" }, `Redelivered: ${m.redelivered ? "yes" : "no"}`),
      h("span", {}, `Messages left: ${fmtNumber(m.message_count)}`),
      h("span", {}, `${fmtNumber(m.payload_bytes)} bytes, encoded as ${m.payload_encoding}`)),
    h("div", { class: "payload" }, m.payload),
    h("div", { class: "row" },
      h("div", {}, h("strong", {}, "Properties"), keyValues("properties", properties)),
      h("div", {}, h("strong", {}, "Headers"), keyValues("headers", headers))));
}
