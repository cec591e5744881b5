// The tab's Socket.IO connection: progress events, other tabs' changes, and catching up after
// a disconnect. The stock client's connection state recovery replays missed `data:changed`
// events on reconnect; when it cannot (`recovered` is false) or the server says `data:resync`,
// every table reloads.
import { io } from '../vendor/socket.io.esm.min.js';
import { progress } from './feedback.js';
import { createStore } from './lib.js';
import { endSession, session } from './session.js';

/** 'connecting' | 'online' | 'offline' */
export const connection = createStore('offline');

let socket = null;
// Ids this tab has had: recovery keeps the id, a fresh session gets a new one.
const ownIds = new Set();
const listeners = new Set();

export function socketId() {
  return socket?.connected ? socket.id : null;
}

/** Listen to changes: `fn({event, own})` for each `data:changed`, `fn({resync: true})` when
 * everything must reload. Returns the function that stops listening. */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function publish(message) {
  listeners.forEach((fn) => fn(message));
}

export function connect() {
  disconnect();
  connection.set('connecting');
  socket = io({
    // A function, so a reconnect presents the token of now, never a stale copy.
    auth: (reply) => reply({ token: session.get()?.token }),
  });
  // A handle for the browser's developer tools (and the browser tests): `seam.socket`.
  window.seam = { socket };
  socket.on('connect', () => {
    ownIds.add(socket.id);
    connection.set('online');
    if (!socket.recovered) publish({ resync: true });
  });
  socket.on('disconnect', () => connection.set(socket?.active ? 'connecting' : 'offline'));
  socket.on('connect_error', (error) => {
    // Not `active`: the server refused the token (revoked, expired, account disabled).
    if (!socket.active) endSession(error.message);
    else connection.set('connecting');
  });
  socket.on('operation:progress', progress);
  socket.on('data:changed', (event) => {
    publish({ event, own: ownIds.has(event.initiatorSocketId) });
  });
  socket.on('data:resync', () => publish({ resync: true }));
}

export function disconnect() {
  if (socket) {
    socket.removeAllListeners();
    socket.disconnect();
    socket = null;
  }
  connection.set('offline');
}
