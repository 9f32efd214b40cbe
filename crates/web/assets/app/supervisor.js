// The supervisor board refreshes itself on every change (near real time).
import { fragment, workspace, localiseTimes } from "./api.js";
import { on } from "./live.js";
import { bindPaging } from "./paging.js";

const board = document.getElementById("board");
const paging = bindPaging(board);
let timer = null;
function refresh() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    const params = new URLSearchParams({ shown: paging.shown() });
    if (board.dataset.agent) params.set("agent", board.dataset.agent);
    if (board.dataset.tab) params.set("tab", board.dataset.tab);
    try {
      board.replaceChildren(await fragment(`/w/${workspace}/supervisor/board?${params}`));
      localiseTimes(board);
      paging.watch();
    } catch {
      /* next event retries */
    }
  }, 300);
}
for (const type of ["conversation.created", "conversation.updated", "message.created", "presence.updated", "resync"]) on(type, refresh);
// Waiting times move even when nothing happens.
setInterval(refresh, 30000);
