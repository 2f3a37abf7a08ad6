// Probot's receiving path: @octokit/webhooks' Node middleware (verify the
// signature, parse the body, dispatch to the handlers), with a trivial
// handler for every event and nothing stored. Started by hookflow-bench
// with the secret in SECRET; it prints the address it listens on.
import http from "node:http";
import { Webhooks, createNodeMiddleware } from "@octokit/webhooks";

const webhooks = new Webhooks({ secret: process.env.SECRET });
webhooks.onAny(() => {});
const middleware = createNodeMiddleware(webhooks, { path: "/hooks/probot", log: { debug() {}, info() {}, warn() {}, error: console.error } });
const server = http.createServer(async (req, res) => {
  if (!(await middleware(req, res))) {
    res.writeHead(404);
    res.end();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
