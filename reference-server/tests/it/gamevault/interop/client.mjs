// Drives the server with the real socket.io-client, default options (polling, then upgrade),
// and prints one JSON summary line. Usage: node client.mjs http://127.0.0.1:PORT
import { io } from "socket.io-client";

const url = process.argv[2];
const fail = (message) => {
  console.error(message);
  process.exit(1);
};
setTimeout(() => fail("interop client timed out"), 20000);

const next = (socket, event) => new Promise((resolve) => socket.once(event, (...args) => resolve(args)));

async function until(condition) {
  while (!condition()) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const summary = {};

const alice = io(url, {
  extraHeaders: { "X-Socket-Secret": "gv-demo-secret-alice" },
  reconnection: false,
});
const [aliceInitial] = await next(alice, "activities");
summary.aliceConnected = alice.connected;
summary.aliceInitial = aliceInitial;
await until(() => alice.io.engine && alice.io.engine.transport.name === "websocket");
summary.aliceTransport = alice.io.engine.transport.name;

const bob = io(url, {
  transports: ["websocket"],
  extraHeaders: { "X-Api-Key": "gv-demo-secret-bob" },
  reconnection: false,
});
await next(bob, "activities");
summary.bobTransport = bob.io.engine.transport.name;

const polling = io(url, {
  transports: ["polling"],
  extraHeaders: { "X-Api-Key": "gv-demo-secret-bob" },
  reconnection: false,
});
await next(polling, "activities");
summary.pollingTransport = polling.io.engine.transport.name;

const pollingSees = next(polling, "activity");
const bobSees = next(bob, "activity");
const ack = await alice.timeout(5000).emitWithAck("set-activity", { state: "PLAYING", game_id: 3 });
summary.ack = ack;
summary.bobSaw = (await bobSees)[0];
summary.pollingSaw = (await pollingSees)[0];
polling.close();
summary.aliceId = alice.id;

const listed = next(bob, "activities");
bob.emit("get-activities");
summary.listed = (await listed)[0];

const exception = next(alice, "exception");
alice.emit("set-activity", { state: "OFFLINE" });
summary.exception = (await exception)[0];

const anonymous = io(url, { reconnection: false });
const [error] = await next(anonymous, "connect_error");
summary.anonymousError = error.message;
anonymous.close();

const offline = next(bob, "activity");
alice.disconnect();
summary.offline = (await offline)[0];

bob.close();
console.log(JSON.stringify(summary));
process.exit(0);
