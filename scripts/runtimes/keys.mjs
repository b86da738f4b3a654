// RSA keys for the application, made with Web Crypto so that generating them does not itself
// depend on node:crypto (Bun, Deno and the Node side of the Workers scenario share this).
export async function rsaKeys() {
  const pair = await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  );
  const pem = async (format, key, label) => {
    const der = new Uint8Array(await crypto.subtle.exportKey(format, key));
    const b64 = btoa(String.fromCharCode(...der)).replace(/.{64}/g, '$&\n');
    return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
  };
  return {
    privateKey: await pem('pkcs8', pair.privateKey, 'PRIVATE KEY'),
    publicKey: await pem('spki', pair.publicKey, 'PUBLIC KEY'),
  };
}
