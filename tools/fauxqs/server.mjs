// Starts fauxqs (an SQS/SNS-compatible server, in memory) for tidemark's
// tests on a free loopback port and prints "fauxqs listening on PORT".
// Usage: node tools/fauxqs/server.mjs
import { startFauxqs } from "fauxqs";

const server = await startFauxqs({ port: 0, logger: false, defaultRegion: "eu-west-2" });
process.stdout.write(`fauxqs listening on ${server.port}\n`);
