// SMS segments, counted as the agent types: a message in the GSM-7
// alphabet takes 160 characters per segment (153 once it is split; the
// extension characters ^ { } \ [ ] ~ | € count twice), any other character
// makes it Unicode: 70 per segment (67 once split, counted in UTF-16 units
// as carriers do).

const GSM_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENSION = "^{}\\[]~|€\f";

export function segmentsOf(text) {
  let septets = 0;
  let gsm = true;
  for (const ch of text) {
    if (GSM_BASIC.includes(ch)) septets += 1;
    else if (GSM_EXTENSION.includes(ch)) septets += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (gsm) {
    const segments = septets === 0 ? 0 : septets <= 160 ? 1 : Math.ceil(septets / 153);
    return { encoding: "GSM-7", units: septets, segments };
  }
  const units = text.length;
  const segments = units <= 70 ? 1 : Math.ceil(units / 67);
  return { encoding: "Unicode", units, segments };
}

// Keep the counter under the composer up to date; returns the update, for
// after the composer is cleared by code.
export function bindSegments(form, text, mode) {
  const out = form.querySelector("[data-sms-segments]");
  if (!out) return () => {};
  const update = () => {
    const counting = mode() === "text" && text.value.length > 0;
    out.hidden = !counting;
    if (!counting) return;
    const { encoding, units, segments } = segmentsOf(text.value);
    out.textContent = `${units} ${encoding === "GSM-7" ? "characters" : "Unicode characters"} · ${segments} SMS segment${segments === 1 ? "" : "s"}`;
    out.dataset.segments = String(segments);
    out.dataset.encoding = encoding;
  };
  text.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
  return update;
}
