// The supervisor board refreshes itself on every change (near real time).
import { fragment, workspace, localiseTimes } from "./api.js";
import { on } from "./live.js";

const board = document.getElementById("board");
let timer = null;
function refresh() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    const agent = board.dataset.agent ? `?agent=${encodeURIComponent(board.dataset.agent)}` : "";
    try {
      board.replaceChildren(await fragment(`/w/${workspace}/supervisor/board${agent}`));
      localiseTimes(board);
    } catch {
      /* next event retries */
    }
  }, 300);
}
for (const type of ["conversation.created", "conversation.updated", "message.created", "presence.updated", "resync"]) on(type, refresh);
// Waiting times move even when nothing happens.
setInterval(refresh, 30000);
