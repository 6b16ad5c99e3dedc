// Verifies webhook deliveries the way a receiver would: with the official Standard Webhooks
// library, the subscription's `whsec_` secret and nothing else. Every delivery must verify; the
// same delivery with its body changed by one character, or signed with another secret, must not.
// Prints one JSON line: the number verified and the payloads.
//
// Env: SECRET (the `whsec_…` secret), DELIVERIES (a JSON file: [{id, timestamp, signature, body}]),
// OTHER_SECRET (another subscription's secret), ALSO_SECRET (optional: a secret every delivery must
// verify with too, such as the one before a rotation).
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

interface Delivery {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
}

const webhook = new Webhook(required("SECRET"));
const other = new Webhook(required("OTHER_SECRET"));
const deliveries = JSON.parse(readFileSync(required("DELIVERIES"), "utf8")) as Delivery[];
const also = process.env["ALSO_SECRET"] ? new Webhook(process.env["ALSO_SECRET"]) : undefined;
const payloads: unknown[] = [];
let rejected = 0;
let alsoVerified = 0;
for (const delivery of deliveries) {
  const headers = {
    "webhook-id": delivery.id,
    "webhook-timestamp": delivery.timestamp,
    "webhook-signature": delivery.signature,
  };
  payloads.push(webhook.verify(delivery.body, headers));
  if (also) {
    also.verify(delivery.body, headers);
    alsoVerified += 1;
  }
  const tampered = delivery.body.replace(/"type":"/, '"type":"x');
  for (const [verifier, body] of [[webhook, tampered], [other, delivery.body]] as const) {
    try {
      verifier.verify(body, headers);
    } catch {
      rejected += 1;
    }
  }
}
console.log(
  JSON.stringify({ ok: rejected === 2 * deliveries.length, verified: payloads.length, alsoVerified, rejected, payloads }),
);
