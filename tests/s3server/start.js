// start.js — run s3rver (@20minutes/s3rver, verifies SigV4 signatures) for AWM's tests.
//   node start.js <directory> <bucket> <accessKeyId> <secretAccessKey>
// Listens on 127.0.0.1 on a port the OS picks (no race for a "free" port) and prints
// "S3RVER_READY <port>" on stdout once the bucket exists and requests are served.
// Exits when stdin closes, so a test process that dies (even by SIGKILL) takes its server with it.
'use strict'
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
