// The reference the bench compares SEAM API's fan-out with: a bare Socket.IO 4.8 server whose
// `PUT /api/v1/users/:id` broadcasts `data:changed` with the payload shape SEAM API sends
// (operation, message, data, initiatorSocketId, eventId). No database, no auth, no progress
// events: this is the floor a Node deployment pays for the broadcast itself.
// Usage: node server.js PORT  (prints "listening" when ready)
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2] ?? 3000);
let eventId = 0;

const http = createServer((req, res) => {
  const match = /^\/api\/v1\/users\/(\d+)$/.exec(req.url ?? "");
  if (req.method !== "PUT" || !match) {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString() || "{}");
    const data = {
      idUser: Number(match[1]),
      full_name: body.full_name ?? "",
      email: "user@seam.bench",
      roleId: 2,
      roleName: "user",
      roleDescription: "Default role",
      isActive: 1,
    };
    eventId += 1;
    io.emit("data:changed", {
      operation: "user:update",
      message: "User updated successfully",
      data,
      initiatorSocketId: req.headers["x-socket-id"] ?? null,
      eventId: String(eventId),
    });
    const answer = JSON.stringify({ success: true, message: "User updated successfully", data });
    res.writeHead(200, { "Content-Type": "application/json" }).end(answer);
  });
});

const io = new Server(http);
http.listen(port, "127.0.0.1", () => console.log("listening"));
