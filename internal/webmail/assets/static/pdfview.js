// The PDF preview. This page runs in a sandboxed frame: an origin of its
// own, so nothing in it can reach the webmail, its cookies or its API. The
// webmail posts it the PDF's bytes; it draws the pages with PDF.js onto
// canvases (no links, no forms, no scripts of the document) and posts back
// only how many pages there are, or that the file could not be read.
import * as pdfjs from "/static/pdfjs/pdf.min.mjs";

const MAX_PAGES = 50;
const up = (msg) => window.parent.postMessage(msg, "*");

// A frame of its own origin may not start a worker from this server, so
// PDF.js runs its parser in this frame's thread.
const ready = import("/static/pdfjs/pdf.worker.min.mjs").then((w) => { globalThis.pdfjsWorker = w; });

window.addEventListener("message", async (ev) => {
  if (ev.source !== window.parent || !ev.data || !(ev.data.pdf instanceof ArrayBuffer)) return;
  const seq = ev.data.seq; // echoed, so that the webmail ignores an earlier file's answers
  const pages = document.getElementById("pages");
  pages.replaceChildren();
  try {
    await ready;
    const doc = await pdfjs.getDocument({data: new Uint8Array(ev.data.pdf), enableXfa: false,
      isEvalSupported: false, useWasm: false, useSystemFonts: true}).promise;
    const shown = Math.min(doc.numPages, MAX_PAGES);
    const dpr = window.devicePixelRatio || 1;
    for (let i = 1; i <= shown; i++) {
      const page = await doc.getPage(i);
      const natural = page.getViewport({scale: 1});
      const fit = Math.min(2, Math.max(0.25, (pages.clientWidth - 16) / natural.width));
      const viewport = page.getViewport({scale: fit * dpr});
      const canvas = document.createElement("canvas");
      canvas.width = Math.floor(viewport.width);
      canvas.height = Math.floor(viewport.height);
      canvas.style.width = Math.floor(viewport.width / dpr) + "px";
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", String(i));
      pages.append(canvas);
      await page.render({canvas, canvasContext: canvas.getContext("2d"), viewport, annotationMode: pdfjs.AnnotationMode.DISABLE}).promise;
      up({seq, pages: doc.numPages, drawn: i, shown});
    }
    if (shown === 0) up({seq, pages: 0, drawn: 0, shown: 0});
  } catch (e) {
    up({seq, error: String((e && e.name) || "Error")});
  }
});
up({ready: true});
