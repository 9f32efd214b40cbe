// A minimal OpenAI-compatible chat-completions server around node-llama-cpp
// (CPU only, threads = cores), for scripts/assist-real-model.sh. It answers
// POST /v1/chat/completions, plain or streamed (SSE ending with [DONE]).
import http from "node:http";
import os from "node:os";
import { getLlama, LlamaChatSession } from "node-llama-cpp";

const [modelPath, port = "8091"] = process.argv.slice(2);
const llama = await getLlama({ gpu: false });
const model = await llama.loadModel({ modelPath });
const threads = os.cpus().length;

async function answer(messages, onChunk) {
  const context = await model.createContext({ contextSize: 2048, threads });
  try {
    const system = messages.filter((m) => m.role === "system").map((m) => m.content).join("\n");
    const user = messages.filter((m) => m.role !== "system").map((m) => m.content).join("\n");
    const session = new LlamaChatSession({ contextSequence: context.getSequence(), systemPrompt: system });
    return await session.prompt(user, { maxTokens: 300, temperature: 0.2, onTextChunk: onChunk });
  } finally {
    await context.dispose();
  }
}

http
  .createServer(async (req, res) => {
    if (req.method !== "POST" || !req.url.endsWith("/chat/completions")) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"message":"not found"}}');
      return;
    }
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const body = JSON.parse(raw);
    const id = `chatcmpl-${Date.now()}`;
    if (body.stream) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const send = (delta, finish = null) =>
        res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
      await answer(body.messages, (text) => send({ content: text }));
      send({}, "stop");
      res.end("data: [DONE]\n\n");
    } else {
      const text = await answer(body.messages, () => {});
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({ id, object: "chat.completion", model: body.model, choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }] }),
      );
    }
  })
  .listen(Number(port), "127.0.0.1", () => console.log(`model server on http://127.0.0.1:${port}/v1`));
