// The seed's client guide, step by step, against a running SEAM API server.
//
// Usage: node client_guide.mjs <url> <email> <password>
// Prints one JSON report on stdout; tests/e2e/test_client_guide.py asserts on it.
//
// Two tabs of one user: tab A connects as the guide shows (polling, upgraded to websocket),
// tab B with polling only. Tab A makes a read and a mutation through `apiFetch`; each tab
// drives a "loader" from operation:progress and "refreshes" on data:changed unless it started
// the change itself.

import { io } from "socket.io-client";

const [url, email, password] = process.argv.slice(2);
if (!url || !email || !password) {
  console.error("usage: node client_guide.mjs <url> <email> <password>");
  process.exit(2);
}

const DEADLINE_MS = 10_000;
const SETTLE_MS = 300; // time for an unexpected extra event to show up before reporting

// -- waiting on events without sleeping -------------------------------------------------------

const waiters = new Set();

function notify() {
  for (const waiter of [...waiters]) {
    if (waiter.ready()) {
      waiters.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
  }
}

function until(ready, what) {
  if (ready()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const waiter = { ready, resolve };
    waiter.timer = setTimeout(() => {
      waiters.delete(waiter);
      reject(new Error(`timed out waiting for ${what}`));
    }, DEADLINE_MS);
    waiters.add(waiter);
  });
}

const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

// -- 1. obtain a JWT token --------------------------------------------------------------------

async function login() {
  const response = await fetch(`${url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`login failed: ${response.status} ${JSON.stringify(body)}`);
  return body.data;
}

// -- 2. a tab: its socket, its loader and its refreshes -----------------------------------------

function openTab(name, token, options = {}) {
  const socket = io(url, { auth: { token }, ...options });
  const tab = {
    name,
    socket,
    loader: [], // every operation:progress, as the loader saw it
    skipped: [], // data:changed this tab started itself
    refreshed: [], // data:changed from elsewhere: the table reloads
    connectErrors: [],
  };

  socket.on("connect", notify);
  socket.on("connect_error", (err) => {
    tab.connectErrors.push(err.message);
    notify();
  });

  // 3. operation:progress drives the loader
  socket.on("operation:progress", ({ operation, status, message, data, timestamp }) => {
    tab.loader.push({ operation, status, message, data, timestamp });
    notify();
  });

  // 4. data:changed refreshes every other tab
  socket.on("data:changed", ({ operation, message, data, initiatorSocketId }) => {
    if (initiatorSocketId === socket.id) {
      tab.skipped.push({ operation, message, initiatorSocketId });
    } else {
      tab.refreshed.push({ operation, message, initiatorSocketId, hasData: data !== null });
    }
    notify();
  });

  // 5. the guide's apiFetch: Authorization and X-Socket-ID on every call
  tab.apiFetch = (path, options = {}) =>
    fetch(`${url}/api/v1${path}`, {
      ...options,
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${token}`,
        "X-Socket-ID": socket.id,
        ...options.headers,
      },
    });
  return tab;
}

async function call(tab, method, path, body) {
  const response = await tab.apiFetch(path, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  return { tab: tab.name, method, path, status: response.status, message: json.message };
}

// A refused handshake: what `connect_error` tells the guide's handler.
async function refusal(auth, headers) {
  const socket = io(url, { auth, extraHeaders: headers, reconnection: false });
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no connect_error")), DEADLINE_MS);
      socket.on("connect_error", (err) => {
        clearTimeout(timer);
        resolve(err.message);
      });
      socket.on("connect", () => {
        clearTimeout(timer);
        reject(new Error("the handshake was accepted"));
      });
    });
  } finally {
    socket.close();
  }
}

const byOperation = (operation) => (event) => event.operation === operation;

async function main() {
  const session = await login();
  const a = openTab("A", session.token);
  const b = openTab("B", session.token, { transports: ["polling"] });
  const tabs = [a, b];
  a.socket.io.engine.on("upgrade", notify);
  try {
    await until(() => a.socket.connected && b.socket.connected, "both tabs to connect");
    // The guide's default options connect by polling and upgrade to websocket.
    await until(() => a.socket.io.engine.transport.name === "websocket", "tab A's upgrade");

    const calls = [];
    calls.push(await call(a, "GET", "/users"));
    await until(
      () => a.loader.some((e) => e.operation === "user:fetchAll" && e.status === "success"),
      "user:fetchAll success on tab A",
    );
    const newName = `Guide Tab A ${Date.now()}`;
    calls.push(
      await call(a, "PUT", `/users/${session.user.idUser}`, { full_name: newName }),
    );
    await until(
      () =>
        a.loader.some((e) => e.operation === "user:edit" && e.status === "success") &&
        a.skipped.some(byOperation("user:edit")) &&
        b.refreshed.some(byOperation("user:edit")),
      "user:edit success on A and data:changed on both tabs",
    );
    await settle();

    const refusals = {
      noToken: await refusal({}, {}),
      badToken: await refusal({ token: "not-a-token" }, {}),
      noTokenEs: await refusal({}, { "Accept-Language": "es" }),
      badTokenEs: await refusal({ token: "not-a-token" }, { "Accept-Language": "es" }),
    };

    const report = {
      calls,
      refusals,
      tabs: Object.fromEntries(
        tabs.map((tab) => [
          tab.name,
          {
            id: tab.socket.id,
            transport: tab.socket.io.engine.transport.name,
            loader: tab.loader,
            skipped: tab.skipped,
            refreshed: tab.refreshed,
            connectErrors: tab.connectErrors,
          },
        ]),
      ),
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    for (const tab of tabs) tab.socket.close();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error.stack || String(error));
    process.exit(1);
  },
);
