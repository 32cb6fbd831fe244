// start.js — run s3rver (@20minutes/s3rver, verifies SigV4 signatures) for AWM's tests.
//   node start.js <directory> <bucket> <accessKeyId> <secretAccessKey>
// Listens on 127.0.0.1 on a port the OS picks (no race for a "free" port) and prints
// "S3RVER_READY <port>" on stdout once the bucket exists and requests are served.
// Exits when stdin closes, so a test process that dies (even by SIGKILL) takes its server with it.
//
// s3rver stores what it gets and never checks Content-MD5 or x-amz-checksum-sha256; S3 does
// (400 BadDigest on a mismatch). The middleware below adds that check for object PUTs, and two
// test faults chosen by a path segment of the key (so a test picks them with its S3_PREFIX):
//   /corrupt-in-transit/  one byte of the body is flipped before the check (a body damaged on
//                         the way: the checksum the client sent must catch it);
//   /sse-kms/             the answer is that of an SSE-KMS bucket: `x-amz-server-side-encryption:
//                         aws:kms` and an ETag that is not the MD5 of the body.
'use strict'
const crypto = require('node:crypto')
const { Readable } = require('node:stream')
const S3rver = require('@20minutes/s3rver')
const AWSAccount = require('@20minutes/s3rver/lib/models/account')

const [directory, bucket, accessKeyId, secretAccessKey] = process.argv.slice(2)
if (!directory || !bucket || !accessKeyId || !secretAccessKey) {
  console.error('usage: node start.js <directory> <bucket> <accessKeyId> <secretAccessKey>')
  process.exit(2)
}
// s3rver knows one built-in key pair (S3RVER/S3RVER); register the test's own on the same account.
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey)

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory,
  silent: true,
  configureBuckets: [{ name: bucket }],
})
const MAX_VERIFIED_BODY = 512 * 1024 * 1024 // test uploads are far smaller

function badDigest(ctx, what) {
  ctx.status = 400
  ctx.type = 'application/xml'
  ctx.body =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>BadDigest</Code>' +
    `<Message>The ${what} you specified did not match the calculated checksum.</Message></Error>`
}

async function verifyIntegrity(ctx, next) {
  const objectPut = ctx.method === 'PUT' && !ctx.querystring && !ctx.get('x-amz-copy-source')
  if (!objectPut || ctx.get('x-amz-content-sha256') === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD')
    return next()
  const chunks = []
  let size = 0
  for await (const chunk of ctx.req) {
    size += chunk.length
    if (size > MAX_VERIFIED_BODY) ctx.throw(413, 'test server: body too large to verify')
    chunks.push(chunk)
  }
  const body = Buffer.concat(chunks)
  if (ctx.path.includes('/corrupt-in-transit/') && body.length) body[body.length >> 1] ^= 0x01
  const sha256 = ctx.get('x-amz-checksum-sha256')
  if (sha256 && crypto.createHash('sha256').update(body).digest('base64') !== sha256)
    return badDigest(ctx, 'SHA256')
  const md5 = ctx.get('content-md5')
  if (md5 && crypto.createHash('md5').update(body).digest('base64') !== md5)
    return badDigest(ctx, 'Content-MD5')
  // The body is read: s3rver's PUT takes ctx.req as its content. Handed back as a stream, not
  // a Buffer: for a Buffer s3rver answers 200 before its file is written, and a GET right after
  // the PUT read a 3 MB object back cut at 2 MiB. (Headers, method and URL come from
  // ctx.request.req, which stays the real request.)
  ctx.req = Readable.from([body], { objectMode: false })
  await next()
  if (ctx.status !== 200) return
  if (sha256) ctx.set('x-amz-checksum-sha256', sha256)
  if (ctx.path.includes('/sse-kms/')) {
    ctx.set('x-amz-server-side-encryption', 'aws:kms')
    ctx.set('ETag', `"${crypto.randomBytes(16).toString('hex')}"`)
  }
}
// First in the chain (Koa composes it when run() makes the server).
server.middleware.unshift(verifyIntegrity)

server.run().then(
  (addr) => process.stdout.write(`S3RVER_READY ${addr.port}\n`),
  (err) => {
    console.error(`s3rver failed to start: ${err.stack || err}`)
    process.exit(1)
  }
)
process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()
