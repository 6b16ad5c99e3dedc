// Verifies a consent receipt the way a third party would: with `jose` and nothing but the
// environment's published JWKS (fetched over HTTP), checking the algorithm, the `typ` header and
// the issuer. Prints the verified header and claims as one JSON line.
//
// Env: RECEIPT (the compact JWS), JWKS_URL, ISSUER.
import { createRemoteJWKSet, jwtVerify } from "jose";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const receipt = required("RECEIPT");
const jwks = createRemoteJWKSet(new URL(required("JWKS_URL")));
const { payload, protectedHeader } = await jwtVerify(receipt, jwks, {
  algorithms: ["ES256"],
  typ: "consent-receipt+jwt",
  issuer: required("ISSUER"),
});
// A receipt altered by one character must not verify.
const [head, body, signature] = receipt.split(".");
const tampered = `${head}.${body}.${signature?.startsWith("A") ? "B" : "A"}${signature?.slice(1)}`;
let tamperedVerified = true;
try {
  await jwtVerify(tampered, jwks, { algorithms: ["ES256"] });
} catch {
  tamperedVerified = false;
}
console.log(JSON.stringify({ ok: !tamperedVerified, header: protectedHeader, claims: payload }));
