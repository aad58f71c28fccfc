package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// tinyPDF is a PDF of one page per text, each showing it in Helvetica.
func tinyPDF(texts ...string) []byte {
	var b bytes.Buffer
	var offsets []int
	obj := func(s string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), s)
	}
	b.WriteString("%PDF-1.4\n")
	var kids []string
	for i := range texts {
		kids = append(kids, fmt.Sprintf("%d 0 R", 4+2*i))
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(texts)))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i, text := range texts {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		stream := fmt.Sprintf("BT /F1 36 Tf 72 700 Td (%s) Tj ET", text)
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

// darkPixels counts the near-black pixels a screenshot shows inside the
// element with the id: what a drawn page of text shows, and a blank or
// grey frame does not.
func darkPixels(t *testing.T, ctx context.Context, id string) int {
	t.Helper()
	r, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => { const r = document.getElementById(`+strconv.Quote(id)+`).getBoundingClientRect();
		return [r.left * devicePixelRatio, r.top * devicePixelRatio, r.right * devicePixelRatio, r.bottom * devicePixelRatio] })()`))
	if err != nil {
		t.Fatalf("the frame's place: %v", err)
	}
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	n := 0
	for y := int(r[1]); y < int(r[3]); y++ {
		for x := int(r[0]); x < int(r[2]); x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cr>>8 < 60 && cg>>8 < 60 && cb>>8 < 60 {
				n++
			}
		}
	}
	return n
}

// withAttachment is a message of a line of text and one attachment.
func withAttachment(subject, ctype, name string, data []byte) []byte {
	return []byte("Subject: " + subject + "\r\nFrom: Accounts <billing@shop.example>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAttached.\r\n" +
		"--b\r\nContent-Type: " + ctype + "; name=" + name + "\r\nContent-Disposition: attachment; filename=" + name + "\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(data) + "\r\n--b--\r\n")
}

// TestPDFPreviewInBrowser: a PDF attachment opens in a preview drawn by
// PDF.js inside a sandboxed frame (an origin of its own: the webmail's
// page cannot be reached from it), at desktop and phone sizes; a file that
// says it is a PDF and is not one is said so, with its download offered.
func TestPDFPreviewInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve and chromium")
	}
	ctx, watch := browse(t, t.TempDir())
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	e.dc.Append(t, alice, "INBOX", withAttachment("Your invoice", "application/pdf", "invoice.pdf",
		tinyPDF("Invoice 2026-117", "Page two")), nil, time.Time{})
	e.dc.Append(t, alice, "INBOX", withAttachment("Broken scan", "application/pdf", "scan.pdf",
		[]byte("%PDF-1.7\nthis is not really a PDF at all\n")), nil, time.Time{})
	e.mustMTM("snapshot")
	s := serveE2E(t, e, nil)

	// The frame's page: sandboxed by its own policy, whatever frames it.
	do(t, ctx, "the login page", chromedp.Navigate(s.base+"/login"))
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`fetch("/pdfview").then((r) =>
		r.ok && r.headers.get("Content-Security-Policy").startsWith("sandbox allow-scripts;") &&
		r.headers.get("Content-Security-Policy").includes("connect-src 'none'"))`, chromedp.EvalAwaitPromise))
	if err != nil || !ok {
		t.Fatalf("the preview frame's policy: %v %v", ok, err)
	}
	do(t, ctx, "login", chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), alice), chromedp.SendKeys(chromedp.ID("password"), "pw-"+alice+"\n"),
		chromedp.WaitVisible(chromedp.ID("when")))
	for _, size := range []struct {
		name string
		w, h int64
	}{{"desktop", 1400, 900}, {"phone", 390, 844}} {
		t.Run(size.name, func(t *testing.T) {
			do(t, ctx, "size", chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(s.base+"/?folder=INBOX"),
				chromedp.WaitVisible(chromedp.ID("when")))
			open := func(subject, file string) {
				t.Helper()
				waitJS(t, ctx, "the list", `[...document.querySelectorAll("#rows td.subject")].some((td) => td.textContent === `+strconv.Quote(subject)+`)`)
				do(t, ctx, "open "+subject, chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#rows td.subject")].find((td) =>
					td.textContent === `+strconv.Quote(subject)+`).click()`))
				// The reader shows this message (not the one before it) with its file.
				item := `[...document.querySelectorAll("#atts li")].find((li) => li.querySelector("a").textContent.includes(` + strconv.Quote(file) + `))`
				waitJS(t, ctx, "its preview button", `document.getElementById("rhead").textContent.includes(`+strconv.Quote(subject)+`) &&
					`+item+`.querySelector("button").textContent === "Preview"`)
				do(t, ctx, "preview", chromedp.Evaluate[chromedp.Void](item+`.querySelector("button").click()`))
			}
			open("Your invoice", "invoice.pdf")
			waitJS(t, ctx, "both pages drawn", `document.getElementById("pdf").open && document.getElementById("pdfstatus").textContent === "2 pages" &&
				document.getElementById("pdftitle").textContent === "invoice.pdf"`)
			// The frame is an origin of its own: this page cannot reach into it, nor it into this one.
			waitJS(t, ctx, "a sandboxed frame", `(() => { const f = document.getElementById("pdfframe");
				return f.getAttribute("sandbox") === "allow-scripts" && f.contentDocument === null &&
					f.getBoundingClientRect().width > 0.8 * Math.min(innerWidth, 960) && f.getBoundingClientRect().height > 300 })()`)
			if n := darkPixels(t, ctx, "pdfframe"); n < 200 {
				t.Errorf("the preview shows %d dark pixels: no text drawn", n)
			}
			waitJS(t, ctx, "its download", `document.getElementById("pdfdownload").getAttribute("href").endsWith("/attachments/0")`)
			do(t, ctx, "close", chromedp.Click(chromedp.ID("closepdf")))
			waitJS(t, ctx, "closed", `!document.getElementById("pdf").open && !document.getElementById("pdfframe").hasAttribute("src")`)
			if size.w < 720 {
				do(t, ctx, "back to the list", chromedp.Click(chromedp.ID("to-list")))
			}
			open("Broken scan", "scan.pdf")
			waitJS(t, ctx, "said it cannot be shown", `document.getElementById("pdf").open &&
				document.getElementById("pdftitle").textContent === "scan.pdf" &&
				document.getElementById("pdfstatus").textContent.startsWith("This PDF cannot be shown here. Download it")`)
			do(t, ctx, "close", chromedp.Click(chromedp.ID("closepdf")))
		})
	}
	watch.check(t)
}

// TestBidiNamesInBrowser: a folder and an attachment named with a
// right-to-left override ("invoice\u202efdp.exe" shows as
// "invoiceexe.pdf") are shown without it, and the folder still opens
// under its own name.
func TestBidiNamesInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve and chromium")
	}
	ctx, watch := browse(t, t.TempDir())
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	folder := "Bills \u202efdp.exe"
	e.dc.Append(t, alice, folder, withAttachment("Your invoice", "application/octet-stream", "invoice\u202efdp.exe",
		[]byte("MZ not a pdf")), nil, time.Time{})
	e.mustMTM("snapshot")
	s := serveE2E(t, e, nil)
	do(t, ctx, "login", chromedp.EmulateViewport(1400, 900), chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), alice), chromedp.SendKeys(chromedp.ID("password"), "pw-"+alice+"\n"),
		chromedp.WaitVisible(chromedp.ID("when")))
	sel := `button.folder[data-name="` + folder + `"]`
	waitJS(t, ctx, "the folder, shown without the override", `(() => { const b = document.querySelector(`+strconv.Quote(sel)+`);
		return b && b.textContent.includes("Bills fdp.exe") && !b.textContent.includes("\u202e") && !b.title.includes("\u202e") })()`)
	do(t, ctx, "open it", chromedp.Click(chromedp.CSS(sel)))
	waitJS(t, ctx, "its title", `document.getElementById("listtitle").textContent === "Bills fdp.exe"`)
	do(t, ctx, "open the message", chromedp.Click(chromedp.CSS(`#rows tr td.subject`)))
	waitJS(t, ctx, "the attachment, shown without the override", `(() => { const a = document.querySelector("#atts a");
		return a && a.textContent.includes("invoicefdp.exe") && !a.textContent.includes("\u202e") })()`)
	watch.check(t)
}
