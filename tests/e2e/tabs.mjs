// Browser tabs as the stock socket.io-client sees them, driven line by line from Python.
//
// Usage: node tabs.mjs   (then JSON commands on stdin, one per line; one JSON answer each)
//   {"cmd": "open", "name": "A", "url": "...", "token": "...", "transports": ["websocket"],
//    "reconnection": false}                       -> {"id", "recovered"} (id: the socket id)
//   {"cmd": "cut", "name": "A"}                   -> the transport closes (socket.io.engine.close())
//   {"cmd": "reconnect", "name": "A"}             -> {"id", "recovered"} or {"error"}
//   {"cmd": "wait", "name": "A", "count": 5}      -> once the tab holds `count` events (10 s)
//   {"cmd": "events", "name": "A"}                -> {"events": [[name, ...args], ...]}
//   {"cmd": "clear", "name": "A"}
// No recovery code here: whatever the tab gets back after a reconnect is the library's doing.

import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const tabs = new Map();
const DEADLINE_MS = 10_000;

function answer(id, body) {
  process.stdout.write(JSON.stringify({ ...body, reply: id }) + "\n");
}

function connected(tab) {
  return new Promise((resolve) => {
    const done = (body) => {
      tab.socket.off("connect", onConnect);
      tab.socket.off("connect_error", onError);
      resolve(body);
    };
    const onConnect = () => done({ id: tab.socket.id, recovered: tab.socket.recovered });
    const onError = (error) => done({ error: error.message });
    tab.socket.on("connect", onConnect);
    tab.socket.on("connect_error", onError);
  });
}

async function run(command) {
  const tab = tabs.get(command.name);
  switch (command.cmd) {
    case "open": {
      const socket = io(command.url, {
        auth: { token: command.token },
        transports: command.transports ?? ["websocket"],
        reconnection: command.reconnection ?? false,
        reconnectionDelay: command.reconnectionDelay ?? 1000,
        randomizationFactor: 0,
        forceNew: true,
      });
      const opened = { socket, events: [], disconnects: [] };
      socket.onAny((event, ...args) => opened.events.push([event, ...args]));
      socket.on("disconnect", (reason) => opened.disconnects.push(reason));
      tabs.set(command.name, opened);
      return connected(opened);
    }
    case "cut": {
      const gone = new Promise((resolve) => tab.socket.once("disconnect", resolve));
      tab.socket.io.engine.close();
      return { reason: await gone };
    }
    case "reconnect": {
      const back = connected(tab);
      tab.socket.connect();
      return back;
    }
    case "waitConnected":
      return tab.socket.connected
        ? { id: tab.socket.id, recovered: tab.socket.recovered }
        : connected(tab);
    case "wait": {
      const started = Date.now();
      while (tab.events.length < command.count && Date.now() - started < DEADLINE_MS) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return { events: tab.events };
    }
    case "events":
      return { events: tab.events, connected: tab.socket.connected, disconnects: tab.disconnects };
    case "clear":
      tab.events.length = 0;
      return {};
    case "close":
      for (const each of tabs.values()) each.socket.close();
      return {};
    default:
      throw new Error(`unknown command ${command.cmd}`);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  const command = JSON.parse(line);
  try {
    answer(command.id, await run(command));
  } catch (error) {
    answer(command.id, { error: String(error) });
  }
});
lines.on("close", () => {
  for (const tab of tabs.values()) tab.socket.close();
  process.exit(0);
});
