// An e-mail's formatted version keeps its remote images unloaded (each
// would tell the sender the mail was opened, and from where) until the
// agent asks: "Load images" puts the addresses back, for that message
// only, and sends no referrer.
document.addEventListener("click", (event) => {
  const button = event.target.closest(".load-images");
  if (!button) return;
  const body = button.closest(".mail-html")?.querySelector(".mail-html-body");
  if (!body) return;
  for (const img of body.querySelectorAll("img[data-remote-src]")) {
    img.referrerPolicy = "no-referrer";
    img.src = img.dataset.remoteSrc;
    img.removeAttribute("data-remote-src");
  }
  button.closest(".mail-images").remove();
});
