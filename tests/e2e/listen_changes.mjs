// Two sockets of one user through a load balancer, one on websocket only and one on
// long-polling only, collecting `data:changed` until each has seen `count` role creations.
//
// Usage: node listen_changes.mjs <url> <token> <count>
// Prints {"ready": true} once both are connected, then one JSON report; read by
// tests/deploy/test_nginx.py.

import { io } from "socket.io-client";

const [url, token, countText] = process.argv.slice(2);
const count = Number(countText);
const DEADLINE_MS = 30_000;

function open(transport) {
  const socket = io(url, { auth: { token }, transports: [transport], reconnection: false });
  const tab = { transport, roles: [], errors: [] };
  socket.on("connect_error", (err) => tab.errors.push(err.message));
  socket.on("data:changed", ({ operation, data }) => {
    if (operation === "role:create" && data) tab.roles.push(data.roleName);
  });
  tab.connected = new Promise((resolve) => socket.on("connect", resolve));
  tab.socket = socket;
  return tab;
}

const tabs = [open("websocket"), open("polling")];
const deadline = setTimeout(() => finish(), DEADLINE_MS);
await Promise.all(tabs.map((tab) => tab.connected));
console.log(JSON.stringify({ ready: true }));

const poll = setInterval(() => {
  if (tabs.every((tab) => tab.roles.length >= count)) finish();
}, 50);

function finish() {
  clearTimeout(deadline);
  clearInterval(poll);
  const report = tabs.map((tab) => ({
    transport: tab.socket.io.engine ? tab.socket.io.engine.transport.name : null,
    roles: tab.roles,
    errors: tab.errors,
  }));
  console.log(JSON.stringify({ tabs: report }));
  for (const tab of tabs) tab.socket.close();
  process.exit(0);
}
