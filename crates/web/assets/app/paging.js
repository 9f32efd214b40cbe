// Lists that load their next page when its "Load more" comes into view
// (or is pressed): rows go into their group (a list, or a table's body),
// a new group after the last.
import { fragment, localiseTimes } from "./api.js";

export function bindPaging(container) {
  const observer =
    "IntersectionObserver" in window
      ? new IntersectionObserver((entries) => {
          for (const e of entries) if (e.isIntersecting) loadMore(e.target);
        })
      : null;

  async function loadMore(button) {
    if (button.disabled) return;
    button.disabled = true;
    const holder = button.closest(".more");
    try {
      const content = await fragment(button.dataset.next);
      for (const ul of content.querySelectorAll("ul.conversations, tbody[data-group]")) {
        const tag = ul.tagName.toLowerCase();
        const same = container.querySelector(`${tag}[data-group="${CSS.escape(ul.dataset.group)}"]`);
        if (same) {
          same.append(...ul.children);
        } else {
          const heading = ul.previousElementSibling;
          if (heading?.matches("h3.group")) holder.before(heading);
          holder.before(ul);
        }
      }
      const next = content.querySelector(".more");
      if (next) holder.replaceWith(next);
      else holder.remove();
      localiseTimes(container);
      watch();
    } catch {
      button.disabled = false;
    }
  }

  function watch() {
    observer?.disconnect();
    const button = container.querySelector(".more button");
    if (button) observer?.observe(button);
  }

  container.addEventListener("click", (event) => {
    const button = event.target.closest(".more button");
    if (button) loadMore(button);
  });
  watch();
  return {
    watch,
    // How many rows are shown, so a refresh keeps them.
    shown: () => container.querySelectorAll(".row").length,
  };
}
